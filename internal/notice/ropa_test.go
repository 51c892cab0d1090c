package notice

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// TestROPA checks the Art. 30(1) contents for every activity of both
// examples: the record must say who, why, on what basis, about whom, what
// data, to whom, where and under which safeguard, for how long, and how it
// is secured.
func TestROPA(t *testing.T) {
	for _, name := range []string{"learning-saas", "door-entry"} {
		t.Run(name, func(t *testing.T) {
			p, _ := loadExample(t, name)
			rec := ROPA(p)
			if rec.Controller.Name != p.Controller.Name || rec.Controller.Email != p.Controller.Email {
				t.Errorf("controller: %+v", rec.Controller)
			}
			if (p.Controller.DPO != nil) != (rec.DPO != nil) {
				t.Errorf("DPO: %+v", rec.DPO)
			}
			if rec.SecurityMeasures == "" || rec.BackupRetention != "90 days" {
				t.Errorf("security %q, backups %q", rec.SecurityMeasures, rec.BackupRetention)
			}
			if len(rec.Activities) != len(p.Purposes) {
				t.Fatalf("%d activities for %d purposes", len(rec.Activities), len(p.Purposes))
			}
			for i, a := range rec.Activities {
				pu := p.Purposes[i]
				if a.Key != pu.Key || a.Name != pu.Name || a.Purpose == "" || a.LegalBasis != string(pu.LegalBasis) {
					t.Errorf("activity %d: %+v", i, a)
				}
				if !strings.HasPrefix(a.LegalBasisArticle, "Art. 6(1)(") {
					t.Errorf("%s: article %q", a.Key, a.LegalBasisArticle)
				}
				if pu.LegalBasis == policy.BasisLegitimateInterests && a.LegalBasisDetail == "" {
					t.Errorf("%s: legitimate interest missing", a.Key)
				}
				if pu.LegalBasis == policy.BasisLegalObligation && !strings.Contains(a.LegalBasisDetail, "Bookkeeping") {
					t.Errorf("%s: law missing: %q", a.Key, a.LegalBasisDetail)
				}
				if len(a.DataSubjects) == 0 || len(a.DataCategories) != len(pu.Categories) || len(a.Retention) == 0 {
					t.Errorf("%s: subjects %v, categories %v, retention %v", a.Key, a.DataSubjects, a.DataCategories, a.Retention)
				}
				for _, c := range a.DataCategories {
					if c.Name == "" || c.Name == c.Key {
						t.Errorf("%s: category %q has no name", a.Key, c.Key)
					}
				}
				if len(a.Recipients) != len(pu.Recipients) {
					t.Errorf("%s: %d recipients, want %d", a.Key, len(a.Recipients), len(pu.Recipients))
				}
				want := 0
				for _, r := range a.Recipients {
					if !policy.InEEA(r.Country) {
						want++
					}
				}
				if len(a.Transfers) != want {
					t.Errorf("%s: %d transfers, want %d", a.Key, len(a.Transfers), want)
				}
				for _, tr := range a.Transfers {
					if tr.Mechanism == "" || tr.Safeguard == "" || tr.CountryName == "" || tr.Safeguard == "Not stated" {
						t.Errorf("%s: transfer %+v", a.Key, tr)
					}
				}
				wantRole := string(pu.Role)
				if wantRole == "" {
					wantRole = string(p.Mode)
				}
				if a.Role != wantRole {
					t.Errorf("%s: role %q, want %q", a.Key, a.Role, wantRole)
				}
				if a.Role == "processor" && !strings.Contains(a.Controller, "customers") {
					t.Errorf("%s: processor activity names controller %q", a.Key, a.Controller)
				}
			}
		})
	}
}

func TestROPAJSON(t *testing.T) {
	p, _ := loadExample(t, "learning-saas")
	b, err := ROPAJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("{\n  \"controller\"")) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("not indented JSON: %.60s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	acts := m["activities"].([]any)
	first := acts[0].(map[string]any)
	for _, k := range []string{"key", "name", "purpose", "role", "controller", "legal_basis", "legal_basis_article",
		"data_subjects", "data_categories", "recipients", "third_country_transfers", "retention", "security_measures",
		"direct_marketing", "sale_or_share", "automated_decisions"} {
		if _, ok := first[k]; !ok {
			t.Errorf("activity lacks %q", k)
		}
	}
	if bytes.Contains(b, []byte("null")) {
		t.Error("JSON contains null: empty lists must be []")
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || len(back.Activities) != len(p.Purposes) {
		t.Errorf("round trip: %v, %d activities", err, len(back.Activities))
	}
	if _, err := ROPAJSON(nil); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("nil: %v", err)
	}
	if r := ROPA(nil); r.Activities == nil || len(r.Activities) != 0 {
		t.Errorf("nil policy: %+v", r)
	}
}

func TestROPACSV(t *testing.T) {
	for _, name := range []string{"learning-saas", "door-entry"} {
		p, _ := loadExample(t, name)
		var buf bytes.Buffer
		if err := ROPACSV(p, &buf); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%s: CSV does not parse: %v", name, err)
		}
		if len(rows) != 1+len(p.Purposes) {
			t.Errorf("%s: %d rows, want %d", name, len(rows), 1+len(p.Purposes))
		}
		for i, r := range rows {
			if len(r) != len(ropaColumns) {
				t.Errorf("%s row %d: %d columns, want %d", name, i, len(r), len(ropaColumns))
			}
		}
		if strings.Join(rows[0], ",") != strings.Join(ropaColumns, ",") {
			t.Errorf("header %v", rows[0])
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		for i, pu := range p.Purposes {
			r := rows[i+1]
			if r[col["activity_key"]] != pu.Key || r[col["activity"]] != pu.Name {
				t.Errorf("%s row %d is %q, want %q", name, i+1, r[col["activity_key"]], pu.Key)
			}
			if !strings.Contains(r[col["legal_basis"]], "Art. 6(1)(") || r[col["retention"]] == "" || r[col["data_categories"]] == "" {
				t.Errorf("%s %s: incomplete row %q", name, pu.Key, r)
			}
			if len(pu.Recipients) > 1 && strings.Count(r[col["recipients"]], "; ") != len(pu.Recipients)-1 {
				t.Errorf("%s %s: recipients not joined with '; ': %q", name, pu.Key, r[col["recipients"]])
			}
		}
	}
	if err := ROPACSV(nil, &bytes.Buffer{}); !errors.Is(err, ErrNilPolicy) {
		t.Errorf("nil: %v", err)
	}
}

// TestROPACSVFormulaInjection checks that a policy author (or whoever
// edits the policy through the console) cannot plant a formula that runs
// when the DPO opens the export in a spreadsheet.
func TestROPACSVFormulaInjection(t *testing.T) {
	p := hostilePolicy()
	p.Purposes[0].Key = "=cmd"
	p.Purposes[0].Name = "+SUM(1,2)"
	p.Purposes[0].Description = "-2+3"
	p.Security = "@attack"
	var buf bytes.Buffer
	if err := ROPACSV(p, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s starts with a formula character: %q", ropaColumns[i], cell)
		}
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for k, want := range map[string]string{
		"activity_key": "'=cmd", "activity": "'+SUM(1,2)", "purpose": "'-2+3",
		"security_measures": "'@attack", "data_subjects": "'=HYPERLINK(\"http://evil.example\"); @SUM(A1)",
	} {
		if got := rows[1][col[k]]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for in, want := range map[string]string{"": "", "ok": "ok", "=1": "'=1", "\t=1": "'\t=1", "a=1": "a=1"} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
