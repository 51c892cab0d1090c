package retention_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
)

// crashEnv carries the crash test's instructions to its child process: the
// test binary run again, which TestMain turns into a sweeper that is killed.
const crashEnv = "TRUSTEE_RETENTION_CRASH_CHILD"

// crashOrder is what the child does.
type crashOrder struct {
	Data, Keys string
	Root       string // base64 of the root keyset
	Tenant     string
	Now        time.Time
	Batch      int
	// Stage and Batch number at which the child announces itself and
	// waits to be killed: "committed" (between batches) or "tx" (inside a
	// batch's transaction, before it commits).
	Stage string
	At    int
}

func TestMain(m *testing.M) {
	if v := os.Getenv(crashEnv); v != "" {
		os.Exit(crashChild(v))
	}
	os.Exit(m.Run())
}

// crashChild sweeps until the ordered point, prints KILL and waits for the
// parent's SIGKILL. Exit code 3 means it finished without reaching it.
func crashChild(order string) int {
	var o crashOrder
	if err := json.Unmarshal([]byte(order), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	raw, _ := base64.StdEncoding.DecodeString(o.Root)
	f, closeFn, err := buildFixture(stores{Data: o.Data, Keys: o.Keys}, raw, o.Now)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer closeFn()
	f.ret.Batch = o.Batch
	retention.SetAfterBatch(f.ret, func(stage string, n int) {
		if stage == o.Stage && n == o.At {
			fmt.Println("KILL")
			os.Stdout.Sync()
			select {} // wait for the SIGKILL, holding the transaction open for "tx"
		}
	})
	if _, err := f.ret.Sweep(context.Background(), o.Tenant); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 3
}

// killedSweep runs a child sweeper and SIGKILLs it at the ordered point.
func killedSweep(t *testing.T, o crashOrder) {
	t.Helper()
	b, _ := json.Marshal(o)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(b))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "KILL" {
				line <- "KILL"
				return
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok || l != "KILL" {
			_ = cmd.Wait()
			t.Fatalf("child ended without reaching %s batch %d (exit %v): %s", o.Stage, o.At, cmd.ProcessState, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("child did not reach the kill point in time")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no clean close
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestCrashMidSweep kills the sweeping process twice — once between batches,
// once inside a batch's open transaction — and then lets a fresh sweep
// finish: every due row is acted on exactly once, none is lost, the
// anonymised counts add up exactly, every subject's audit events name each
// of its rows once, and the audit chains are intact.
func TestCrashMidSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	forEngines(t, func(t *testing.T, f *fixture) {
		const n = 120
		var subjects []string
		for i := range n {
			id := f.person(t, i)
			f.record(t, id, "entry_log", fmt.Sprintf(`{"entrance":"e%d"}`, i%3), T0)
			subjects = append(subjects, id)
		}
		now := sixYears(T0)
		f.clk.Set(now)
		order := crashOrder{Data: f.dsn.Data, Keys: f.dsn.Keys, Root: base64.StdEncoding.EncodeToString(f.rootRaw),
			Tenant: f.tenant, Now: now, Batch: 20}
		// 240 due fields (phone, nickname) in 12 batches, then 120 records
		// in 6. First kill: after the 4th batch committed.
		order.Stage, order.At = "committed", 4
		killedSweep(t, order)
		mid := 0
		for _, id := range subjects {
			mid += len(f.fields(t, id))
		}
		if mid != n*4-4*20 {
			t.Fatalf("after the first kill %d fields are left, want exactly %d (4 batches of 20 done)", mid, n*4-80)
		}
		// Second kill: inside the transaction of the 10th batch of the new
		// run, which is its second batch of records (160 fields left: 8
		// batches); that batch must leave no trace.
		order.Stage, order.At = "tx", 10
		killedSweep(t, order)
		var counted int64
		if err := f.st.Read(bg, func(tx store.Tx) error {
			cs, err := tx.ListAnonymisedCounts(f.tenant, "")
			for _, c := range cs {
				counted += c.Total
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if counted != 20 {
			t.Fatalf("after the second kill %d records are counted, want 20 (one committed batch of records)", counted)
		}

		r := f.sweep(t)
		if r.FieldsDeleted != 0 || r.RecordsAnonymised != n-20 {
			t.Fatalf("final sweep: %+v, want the remaining %d records", r, n-20)
		}
		perEntrance := map[string]int64{}
		if err := f.st.Read(bg, func(tx store.Tx) error {
			cs, err := tx.ListAnonymisedCounts(f.tenant, "")
			for _, c := range cs {
				perEntrance[c.Attributes] += c.Total
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if k := fmt.Sprintf(`{"entrance":"e%d"}`, i); perEntrance[k] != n/3 {
				t.Errorf("counter %s = %d, want %d", k, perEntrance[k], n/3)
			}
		}
		for _, id := range subjects {
			if got := f.fields(t, id); !eq(got, []string{"email", "name"}) {
				t.Fatalf("%s has %v", id, got)
			}
			if rs := f.records(t, id, "entry_log"); len(rs) != 0 {
				t.Fatalf("%s has %d entry log records left", id, len(rs))
			}
			var phone, nick, log int
			for _, ev := range f.events(t, "retention.expire", id) {
				phone += strings.Count(ev.Reason, "field phone deleted")
				nick += strings.Count(ev.Reason, "field nickname deleted")
				log += strings.Count(ev.Reason, "1 record(s) of entry_log anonymised")
			}
			if phone != 1 || nick != 1 || log != 1 {
				t.Fatalf("%s: audited phone %d, nickname %d, entry log %d times; want each once", id, phone, nick, log)
			}
		}
		rep, err := audit.Verify(bg, f.st, f.tenant, nil)
		if err != nil || !rep.Intact {
			t.Fatalf("audit chain after the crashes: %+v %v", rep, err)
		}
	})
}
