// Package synth makes synthetic people for demos and benchmarks: plausible
// names, example.com addresses and phone numbers from ranges reserved for
// fiction, so no generated record can belong to a real person.
package synth

import (
	"encoding/json"
	"fmt"
)

var firstNames = []string{
	"Ada", "Bjørn", "Chiara", "Dmitri", "Elin", "Farah", "Gustav", "Hana", "Ingrid", "Jonas",
	"Kaisa", "Lars", "Maja", "Nils", "Olivia", "Per", "Quentin", "Rania", "Siri", "Tobias",
	"Ulla", "Viktor", "Wenche", "Xavier", "Yasmin", "Zofia",
}

var lastNames = []string{
	"Andersen", "Berg", "Dahl", "Eriksen", "Fjeld", "Gundersen", "Hagen", "Iversen", "Johansen",
	"Karlsen", "Lund", "Moen", "Nilsen", "Olsen", "Pedersen", "Rød", "Solberg", "Strand", "Tangen", "Vik",
}

var companies = []string{"Fjordline Example AS", "Nordlys Demo AB", "Example Learning Oy", "Testbyrå AS", "Sample Works Ltd"}

var titles = []string{"Learning designer", "HR partner", "Team lead", "Instructor", "Head of training", "Developer"}

// Person is one synthetic person.
type Person struct {
	First, Last string
	Email       string
	Phone       string // E.164, in Ofcom's range reserved for drama (+44 7700 900000-900999)
	UserID      string
	Login       string
	Company     string
	JobTitle    string
	Street      string
}

// Nth returns the n-th synthetic person; the same n always gives the same
// person, and different n give different identities.
func Nth(n int) Person {
	f := firstNames[n%len(firstNames)]
	l := lastNames[(n/len(firstNames))%len(lastNames)]
	return Person{
		First:    f,
		Last:     l,
		Email:    fmt.Sprintf("%s.%s.%d@example.com", ascii(f), ascii(l), n),
		Phone:    fmt.Sprintf("+447700900%03d", n%1000),
		UserID:   fmt.Sprintf("usr_%08d", n),
		Login:    fmt.Sprintf("%s%d", ascii(f), n),
		Company:  companies[n%len(companies)],
		JobTitle: titles[n%len(titles)],
		Street:   fmt.Sprintf("Eksempelveien %d, 0150 Oslo", 1+n%200),
	}
}

// ascii lower-cases a name and drops letters outside a-z for addresses.
func ascii(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			out = append(out, byte(r))
		case r >= 'A' && r <= 'Z':
			out = append(out, byte(r-'A'+'a'))
		case r == 'ø':
			out = append(out, 'o')
		case r == 'å':
			out = append(out, 'a')
		}
	}
	return string(out)
}

// LearningSaaSFields returns the person as field values of the
// learning-saas example policy: three identities (email, user_id,
// social_login_id) and eight fields in all.
func (p Person) LearningSaaSFields() map[string]json.RawMessage {
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	return map[string]json.RawMessage{
		"email":           str(p.Email),
		"name":            str(p.First + " " + p.Last),
		"company":         str(p.Company),
		"job_title":       str(p.JobTitle),
		"phone":           str(p.Phone),
		"billing_address": str(p.Street),
		"user_id":         str(p.UserID),
		"social_login_id": str(p.Login),
	}
}
