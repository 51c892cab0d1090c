package export

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// dejaVu is DejaVu Sans Condensed (Bitstream Vera / DejaVu licence, free to
// embed), so the PDF shows every script a name may be written in.
//
//go:embed DejaVuSansCondensed.ttf
var dejaVu []byte

// header is the first part of every format.
type header struct {
	Format      string    `json:"format"`
	Kind        string    `json:"kind"`
	ExportID    string    `json:"export_id"`
	SubjectID   string    `json:"subject_id"`
	RequestID   string    `json:"request_id,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	Controller  string    `json:"controller"`
}

type fieldOut struct {
	Name        string          `json:"name"`
	Category    string          `json:"category"`
	Value       json.RawMessage `json:"value"`
	Source      string          `json:"source"`
	CollectedAt time.Time       `json:"collected_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

type recordOut struct {
	ID         string          `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Source     string          `json:"source"`
	Data       json.RawMessage `json:"data"`
}

// tail is everything after the data: it is small and built in memory.
type tail struct {
	Consents   *consent.SubjectConsents `json:"consents,omitempty"`
	Requests   []RequestSummary         `json:"requests,omitempty"`
	Processing *Processing              `json:"processing,omitempty"`
}

// sink receives the export in order: begin, fields and records (grouped
// by collection), then end.
type sink interface {
	begin(h header) error
	item(it vault.Item) error
	end(t tail) error
}

// ---- JSON ----

// jsonSink streams report.json: one object whose "fields" array and
// "collections" object are written item by item.
type jsonSink struct {
	w          io.Writer
	section    int // 0 fields, 1 collections
	n          int
	collection string
}

func (j *jsonSink) write(parts ...[]byte) error {
	for _, p := range parts {
		if _, err := j.w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonSink) begin(h header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return j.write(b[:len(b)-1], []byte(`,"fields":[`))
}

func (j *jsonSink) item(it vault.Item) error {
	if it.Kind == vault.ItemField {
		b, err := json.Marshal(fieldOut{Name: it.Name, Category: it.Category, Value: it.Value, Source: it.Source,
			CollectedAt: it.CollectedAt, UpdatedAt: it.UpdatedAt})
		if err != nil {
			return err
		}
		sep := []byte(",")
		if j.n == 0 {
			sep = nil
		}
		j.n++
		return j.write(sep, b)
	}
	if j.section == 0 {
		j.section, j.n = 1, 0
		if err := j.write([]byte(`],"collections":{`)); err != nil {
			return err
		}
	}
	if it.Name != j.collection || j.n == 0 {
		name, _ := json.Marshal(it.Name)
		open := []byte(":[")
		if j.n > 0 {
			if err := j.write([]byte("],")); err != nil {
				return err
			}
		}
		if err := j.write(name, open); err != nil {
			return err
		}
		j.collection, j.n = it.Name, 1
	} else {
		if err := j.write([]byte(",")); err != nil {
			return err
		}
	}
	b, err := json.Marshal(recordOut{ID: it.RecordID, OccurredAt: it.CollectedAt, Source: it.Source, Data: it.Value})
	if err != nil {
		return err
	}
	return j.write(b)
}

func (j *jsonSink) end(t tail) error {
	if j.section == 0 {
		if err := j.write([]byte(`],"collections":{`)); err != nil {
			return err
		}
	} else if j.n > 0 {
		if err := j.write([]byte("]")); err != nil {
			return err
		}
	}
	if err := j.write([]byte("}")); err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if len(b) > 2 {
		if err := j.write([]byte(","), b[1:len(b)-1]); err != nil {
			return err
		}
	}
	return j.write([]byte("}\n"))
}

// ---- CSV zip ----

// csvSink streams a zip with one CSV per section; entries are written one
// after the other, as zip requires.
type csvSink struct {
	z          *zip.Writer
	cw         *csv.Writer
	collection string
	fields     bool
}

func (c *csvSink) entry(name string, head ...string) error {
	if c.cw != nil {
		c.cw.Flush()
		if err := c.cw.Error(); err != nil {
			return err
		}
	}
	w, err := c.z.Create(name)
	if err != nil {
		return err
	}
	c.cw = csv.NewWriter(w)
	return c.cw.Write(head)
}

// cell makes a JSON value a spreadsheet cell: strings unquoted, everything
// else as compact JSON; text that a spreadsheet would run as a formula is
// prefixed with an apostrophe (OWASP CSV injection).
func cell(v json.RawMessage) string {
	s := string(v)
	if len(v) > 0 && v[0] == '"' {
		var u string
		if json.Unmarshal(v, &u) == nil {
			s = u
		}
	}
	return safe(s)
}

func safe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + s
	case '-':
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (c *csvSink) begin(h header) error {
	if err := c.entry("export.csv", "key", "value"); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"format", h.Format}, {"kind", h.Kind}, {"export_id", h.ExportID}, {"subject_id", h.SubjectID},
		{"request_id", h.RequestID}, {"generated_at", ts(h.GeneratedAt)}, {"controller", h.Controller}} {
		if err := c.cw.Write([]string{kv[0], safe(kv[1])}); err != nil {
			return err
		}
	}
	c.fields = true
	return c.entry("fields.csv", "field", "category", "value", "source", "collected_at", "updated_at")
}

func (c *csvSink) item(it vault.Item) error {
	if it.Kind == vault.ItemField {
		return c.cw.Write([]string{it.Name, it.Category, cell(it.Value), it.Source, ts(it.CollectedAt), ts(it.UpdatedAt)})
	}
	if it.Name != c.collection {
		c.collection = it.Name
		if err := c.entry("collection-"+it.Name+".csv", "id", "occurred_at", "source", "data"); err != nil {
			return err
		}
	}
	return c.cw.Write([]string{it.RecordID, ts(it.CollectedAt), it.Source, cell(it.Value)})
}

func (c *csvSink) end(t tail) error {
	if t.Consents != nil {
		if err := c.entry("consents.csv", "receipt_id", "purpose", "kind", "method", "at", "expires_at", "policy_version", "source"); err != nil {
			return err
		}
		for _, e := range t.Consents.History {
			exp := ""
			if e.ExpiresAt != nil {
				exp = ts(*e.ExpiresAt)
			}
			if err := c.cw.Write([]string{e.ReceiptID, e.Purpose, e.Kind, e.Method, ts(e.At), exp, strconv.Itoa(e.PolicyVersion), safe(e.Source)}); err != nil {
				return err
			}
		}
	}
	if t.Requests != nil {
		if err := c.entry("requests.csv", "id", "type", "status", "received_at", "completed_at"); err != nil {
			return err
		}
		for _, r := range t.Requests {
			if err := c.cw.Write([]string{r.ID, r.Type, r.Status, ts(r.ReceivedAt), ts(r.CompletedAt)}); err != nil {
				return err
			}
		}
	}
	if p := t.Processing; p != nil {
		if err := c.entry("processing.csv", "purpose", "name", "legal_basis", "description", "categories", "recipients", "retention",
			"legitimate_interest", "legal_obligation", "automated_decisions"); err != nil {
			return err
		}
		for _, pu := range p.Purposes {
			if err := c.cw.Write([]string{pu.Key, safe(pu.Name), pu.LegalBasis, safe(pu.Description), strings.Join(pu.Categories, " "),
				strings.Join(pu.Recipients, " "), pu.Retention, safe(pu.LegitimateInterest), safe(pu.LegalObligation), safe(pu.AutomatedDecisions)}); err != nil {
				return err
			}
		}
		if err := c.entry("recipients.csv", "recipient", "name", "role", "country", "transfer", "purpose", "categories", "received"); err != nil {
			return err
		}
		for _, r := range p.Recipients {
			if err := c.cw.Write([]string{r.Key, safe(r.Name), r.Role, r.Country, r.Transfer, safe(r.Purpose),
				strings.Join(r.Categories, " "), strings.Join(r.Received, " ")}); err != nil {
				return err
			}
		}
		if err := c.entry("retention.csv", "data", "rule", "duration", "trigger", "action", "kept_by_law", "description"); err != nil {
			return err
		}
		for _, r := range p.Retention {
			if err := c.cw.Write([]string{r.Data, r.Rule, r.Duration, r.Trigger, r.Action, safe(r.KeptByLaw), safe(r.Description)}); err != nil {
				return err
			}
		}
		if err := c.entry("about.csv", "key", "value"); err != nil {
			return err
		}
		rows := [][2]string{{"controller", p.Controller.Name}, {"controller_address", p.Controller.Address},
			{"controller_email", p.Controller.Email}, {"policy_version", strconv.Itoa(p.PolicyVersion)}}
		if d := p.Controller.DPO; d != nil {
			rows = append(rows, [2]string{"dpo", d.Name}, [2]string{"dpo_email", d.Email})
		}
		if a := p.SupervisoryAuthority; a != nil {
			rows = append(rows, [2]string{"supervisory_authority", a.Name}, [2]string{"supervisory_authority_website", a.Website})
		}
		rows = append(rows, [2]string{"automated_decisions", p.AutomatedDecisions}, [2]string{"sources", strings.Join(p.Sources, "; ")},
			[2]string{"rights_contact", p.RightsContact})
		for _, r := range p.Rights {
			rows = append(rows, [2]string{"right", r})
		}
		for _, kv := range rows {
			if err := c.cw.Write([]string{kv[0], safe(kv[1])}); err != nil {
				return err
			}
		}
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.z.Close()
}

// ---- PDF ----

// pdfSink lays the report out for people. A PDF is built in memory (fpdf,
// then pdfcpu for AES-256), so each collection lists at most recordLimit
// records and says where the rest are (the JSON and CSV files have all).
type pdfSink struct {
	pdf         *fpdf.Fpdf
	recordLimit int
	collection  string
	shown       int
	skipped     int
	fields      bool
}

const pdfFont = "dejavu"

func newPDFSink(limit int) *pdfSink {
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(pdfFont, "", dejaVu)
	p.SetAutoPageBreak(true, 15)
	p.SetMargins(15, 15, 15)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-12)
		p.SetFont(pdfFont, "", 8)
		p.CellFormat(0, 5, fmt.Sprintf("Page %d of {nb}", p.PageNo()), "", 0, "C", false, 0, "")
	})
	return &pdfSink{pdf: p, recordLimit: limit}
}

func (p *pdfSink) heading(s string) {
	p.pdf.Ln(3)
	p.pdf.SetFont(pdfFont, "", 14)
	p.pdf.MultiCell(0, 7, s, "", "L", false)
	p.pdf.SetFont(pdfFont, "", 9)
}

func (p *pdfSink) line(s string) { p.pdf.MultiCell(0, 4.5, s, "", "L", false) }

func (p *pdfSink) begin(h header) error {
	p.pdf.SetTitle("Your personal data", true)
	p.pdf.AddPage()
	p.pdf.SetFont(pdfFont, "", 18)
	p.pdf.MultiCell(0, 9, "Your personal data held by "+h.Controller, "", "L", false)
	p.pdf.SetFont(pdfFont, "", 9)
	p.line(fmt.Sprintf("Export %s, made %s, for subject %s.", h.ExportID, h.GeneratedAt.Format("2 January 2006 15:04 MST"), h.SubjectID))
	p.line("This document is a copy of the personal data we hold about you and the information GDPR Art. 15 entitles you to. " +
		"The JSON and CSV files of the same export hold the same data in machine-readable form.")
	p.heading("Your details")
	p.fields = true
	return p.pdf.Error()
}

func (p *pdfSink) closeCollection() {
	if p.skipped > 0 {
		p.line(fmt.Sprintf("... and %d more records, listed in full in the JSON and CSV files of this export.", p.skipped))
	}
	p.shown, p.skipped = 0, 0
}

func (p *pdfSink) item(it vault.Item) error {
	if it.Kind == vault.ItemField {
		p.line(fmt.Sprintf("%s: %s", it.Name, cell(it.Value)))
		p.pdf.SetTextColor(90, 90, 90)
		p.line(fmt.Sprintf("    %s, %s, collected %s", it.Category, it.Source, it.CollectedAt.Format("2006-01-02")))
		p.pdf.SetTextColor(0, 0, 0)
		return nil
	}
	if it.Name != p.collection {
		p.closeCollection()
		p.collection = it.Name
		p.heading("Records: " + it.Name)
		if it.Category != "" {
			p.line("Category: " + it.Category)
		}
	}
	if p.shown >= p.recordLimit {
		p.skipped++
		return nil
	}
	p.shown++
	p.line(fmt.Sprintf("%s  %s", it.CollectedAt.Format("2006-01-02 15:04"), string(it.Value)))
	if p.shown%200 == 0 {
		return p.pdf.Error()
	}
	return nil
}

func (p *pdfSink) end(t tail) error {
	p.closeCollection()
	if c := t.Consents; c != nil {
		p.heading("Your consent choices")
		for _, st := range c.Purposes {
			p.line(fmt.Sprintf("%s (%s): %s", st.Name, st.Purpose, st.Status))
		}
		if len(c.History) > 0 {
			p.line("History (newest first):")
			for _, e := range c.History {
				p.line(fmt.Sprintf("  %s  %s %s by %s, receipt %s", e.At.Format("2006-01-02 15:04"), e.Purpose, e.Kind, e.Method, e.ReceiptID))
			}
		}
	}
	if t.Requests != nil {
		p.heading("Your requests")
		if len(t.Requests) == 0 {
			p.line("None.")
		}
		for _, r := range t.Requests {
			p.line(fmt.Sprintf("%s  %s: %s (%s)", r.ReceivedAt.Format("2006-01-02"), r.Type, r.Status, r.ID))
		}
	}
	if pr := t.Processing; pr != nil {
		p.heading("Why we process your data")
		for _, pu := range pr.Purposes {
			p.line(fmt.Sprintf("%s — legal basis: %s", pu.Name, strings.ReplaceAll(pu.LegalBasis, "_", " ")))
			p.line("    " + pu.Description)
			if pu.LegitimateInterest != "" {
				p.line("    Legitimate interest: " + pu.LegitimateInterest)
			}
			if pu.LegalObligation != "" {
				p.line("    Legal obligation: " + pu.LegalObligation)
			}
			p.line("    Categories: " + strings.Join(pu.Categories, ", "))
			if pu.AutomatedDecisions != "" {
				p.line("    Automated decisions: " + pu.AutomatedDecisions)
			}
		}
		p.heading("Who receives your data")
		for _, r := range pr.Recipients {
			tr := ""
			if r.Transfer != "" {
				tr = ", transfer safeguard: " + r.Transfer
			}
			recv := "none of your data we hold"
			if len(r.Received) > 0 {
				recv = strings.Join(r.Received, ", ")
			}
			p.line(fmt.Sprintf("%s (%s, %s%s): %s. Receives: %s", r.Name, r.Role, r.Country, tr, r.Purpose, recv))
		}
		p.heading("How long we keep it")
		for _, r := range pr.Retention {
			law := ""
			if r.KeptByLaw != "" {
				law = " (required by " + r.KeptByLaw + ")"
			}
			p.line(fmt.Sprintf("%s: %s from %s, then %s%s", r.Data, r.Duration, strings.ReplaceAll(r.Trigger, "_", " "), r.Action, law))
		}
		p.heading("Where your data comes from")
		src := "From you, and from your use of our services."
		if len(pr.Sources) > 0 {
			src += " Also from: " + strings.Join(pr.Sources, "; ") + "."
		}
		p.line(src)
		if pr.AutomatedDecisions != "" {
			p.heading("Automated decisions")
			p.line(pr.AutomatedDecisions)
		}
		p.heading("Your rights")
		for _, r := range pr.Rights {
			p.line("• " + r)
		}
		if pr.RightsContact != "" {
			p.line(pr.RightsContact)
		}
		p.heading("Contact")
		c := pr.Controller
		p.line(fmt.Sprintf("%s, %s, %s", c.Name, c.Address, c.Email))
		if c.DPO != nil {
			p.line(fmt.Sprintf("Data protection officer: %s %s", c.DPO.Name, c.DPO.Email))
		}
		if a := pr.SupervisoryAuthority; a != nil {
			p.line(fmt.Sprintf("You may complain to %s %s", a.Name, a.Website))
		}
	}
	return p.pdf.Error()
}

// bytes renders the PDF, marked PDF 2.0 so pdfcpu encrypts it with the
// current AES-256 scheme (revision 6).
func (p *pdfSink) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) > 8 && string(b[:5]) == "%PDF-" {
		copy(b[5:8], "2.0")
	}
	return b, nil
}
