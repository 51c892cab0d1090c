package policy

import "strings"

// isoCountries is ISO 3166-1 alpha-2, every officially assigned code (249),
// with an English short name for notices. Reserved codes such as UK and EL
// are deliberately absent: see countryHints.
var isoCountries = map[string]string{
	"AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan", "AG": "Antigua and Barbuda",
	"AI": "Anguilla", "AL": "Albania", "AM": "Armenia", "AO": "Angola", "AQ": "Antarctica",
	"AR": "Argentina", "AS": "American Samoa", "AT": "Austria", "AU": "Australia", "AW": "Aruba",
	"AX": "Åland Islands", "AZ": "Azerbaijan",
	"BA": "Bosnia and Herzegovina", "BB": "Barbados", "BD": "Bangladesh", "BE": "Belgium",
	"BF": "Burkina Faso", "BG": "Bulgaria", "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin",
	"BL": "Saint Barthélemy", "BM": "Bermuda", "BN": "Brunei Darussalam", "BO": "Bolivia",
	"BQ": "Bonaire, Sint Eustatius and Saba", "BR": "Brazil", "BS": "Bahamas", "BT": "Bhutan",
	"BV": "Bouvet Island", "BW": "Botswana", "BY": "Belarus", "BZ": "Belize",
	"CA": "Canada", "CC": "Cocos (Keeling) Islands", "CD": "Democratic Republic of the Congo",
	"CF": "Central African Republic", "CG": "Congo", "CH": "Switzerland", "CI": "Côte d'Ivoire",
	"CK": "Cook Islands", "CL": "Chile", "CM": "Cameroon", "CN": "China", "CO": "Colombia",
	"CR": "Costa Rica", "CU": "Cuba", "CV": "Cabo Verde", "CW": "Curaçao", "CX": "Christmas Island",
	"CY": "Cyprus", "CZ": "Czechia",
	"DE": "Germany", "DJ": "Djibouti", "DK": "Denmark", "DM": "Dominica", "DO": "Dominican Republic",
	"DZ": "Algeria",
	"EC": "Ecuador", "EE": "Estonia", "EG": "Egypt", "EH": "Western Sahara", "ER": "Eritrea",
	"ES": "Spain", "ET": "Ethiopia",
	"FI": "Finland", "FJ": "Fiji", "FK": "Falkland Islands", "FM": "Micronesia", "FO": "Faroe Islands",
	"FR": "France",
	"GA": "Gabon", "GB": "United Kingdom", "GD": "Grenada", "GE": "Georgia", "GF": "French Guiana",
	"GG": "Guernsey", "GH": "Ghana", "GI": "Gibraltar", "GL": "Greenland", "GM": "Gambia",
	"GN": "Guinea", "GP": "Guadeloupe", "GQ": "Equatorial Guinea", "GR": "Greece",
	"GS": "South Georgia and the South Sandwich Islands", "GT": "Guatemala", "GU": "Guam",
	"GW": "Guinea-Bissau", "GY": "Guyana",
	"HK": "Hong Kong", "HM": "Heard Island and McDonald Islands", "HN": "Honduras", "HR": "Croatia",
	"HT": "Haiti", "HU": "Hungary",
	"ID": "Indonesia", "IE": "Ireland", "IL": "Israel", "IM": "Isle of Man", "IN": "India",
	"IO": "British Indian Ocean Territory", "IQ": "Iraq", "IR": "Iran", "IS": "Iceland", "IT": "Italy",
	"JE": "Jersey", "JM": "Jamaica", "JO": "Jordan", "JP": "Japan",
	"KE": "Kenya", "KG": "Kyrgyzstan", "KH": "Cambodia", "KI": "Kiribati", "KM": "Comoros",
	"KN": "Saint Kitts and Nevis", "KP": "North Korea", "KR": "South Korea", "KW": "Kuwait",
	"KY": "Cayman Islands", "KZ": "Kazakhstan",
	"LA": "Laos", "LB": "Lebanon", "LC": "Saint Lucia", "LI": "Liechtenstein", "LK": "Sri Lanka",
	"LR": "Liberia", "LS": "Lesotho", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia",
	"LY": "Libya",
	"MA": "Morocco", "MC": "Monaco", "MD": "Moldova", "ME": "Montenegro", "MF": "Saint Martin (French part)",
	"MG": "Madagascar", "MH": "Marshall Islands", "MK": "North Macedonia", "ML": "Mali", "MM": "Myanmar",
	"MN": "Mongolia", "MO": "Macao", "MP": "Northern Mariana Islands", "MQ": "Martinique",
	"MR": "Mauritania", "MS": "Montserrat", "MT": "Malta", "MU": "Mauritius", "MV": "Maldives",
	"MW": "Malawi", "MX": "Mexico", "MY": "Malaysia", "MZ": "Mozambique",
	"NA": "Namibia", "NC": "New Caledonia", "NE": "Niger", "NF": "Norfolk Island", "NG": "Nigeria",
	"NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway", "NP": "Nepal", "NR": "Nauru", "NU": "Niue",
	"NZ": "New Zealand",
	"OM": "Oman",
	"PA": "Panama", "PE": "Peru", "PF": "French Polynesia", "PG": "Papua New Guinea",
	"PH": "Philippines", "PK": "Pakistan", "PL": "Poland", "PM": "Saint Pierre and Miquelon",
	"PN": "Pitcairn", "PR": "Puerto Rico", "PS": "Palestine", "PT": "Portugal", "PW": "Palau",
	"PY": "Paraguay",
	"QA": "Qatar",
	"RE": "Réunion", "RO": "Romania", "RS": "Serbia", "RU": "Russia", "RW": "Rwanda",
	"SA": "Saudi Arabia", "SB": "Solomon Islands", "SC": "Seychelles", "SD": "Sudan", "SE": "Sweden",
	"SG": "Singapore", "SH": "Saint Helena, Ascension and Tristan da Cunha", "SI": "Slovenia",
	"SJ": "Svalbard and Jan Mayen", "SK": "Slovakia", "SL": "Sierra Leone", "SM": "San Marino",
	"SN": "Senegal", "SO": "Somalia", "SR": "Suriname", "SS": "South Sudan",
	"ST": "Sao Tome and Principe", "SV": "El Salvador", "SX": "Sint Maarten (Dutch part)",
	"SY": "Syria", "SZ": "Eswatini",
	"TC": "Turks and Caicos Islands", "TD": "Chad", "TF": "French Southern Territories", "TG": "Togo",
	"TH": "Thailand", "TJ": "Tajikistan", "TK": "Tokelau", "TL": "Timor-Leste", "TM": "Turkmenistan",
	"TN": "Tunisia", "TO": "Tonga", "TR": "Türkiye", "TT": "Trinidad and Tobago", "TV": "Tuvalu",
	"TW": "Taiwan", "TZ": "Tanzania",
	"UA": "Ukraine", "UG": "Uganda", "UM": "United States Minor Outlying Islands", "US": "United States",
	"UY": "Uruguay", "UZ": "Uzbekistan",
	"VA": "Holy See", "VC": "Saint Vincent and the Grenadines", "VE": "Venezuela",
	"VG": "British Virgin Islands", "VI": "U.S. Virgin Islands", "VN": "Viet Nam", "VU": "Vanuatu",
	"WF": "Wallis and Futuna", "WS": "Samoa",
	"YE": "Yemen", "YT": "Mayotte",
	"ZA": "South Africa", "ZM": "Zambia", "ZW": "Zimbabwe",
}

// countryHints catches codes people commonly write that are not ISO 3166-1
// alpha-2 codes, and says which code they mean.
var countryHints = map[string]string{
	"UK":  "GB", // exceptionally reserved; the United Kingdom is GB
	"EL":  "GR", // the EU's code for Greece
	"EU":  "",   // not a country: name the member state
	"EEA": "",
}

// eeaCountries is the European Economic Area: the 27 EU member states plus
// Iceland, Liechtenstein and Norway, where the GDPR applies and data flows
// freely. It includes the EU's outermost regions that have their own ISO
// code (Åland, French Guiana, Guadeloupe, Martinique, Mayotte, Réunion,
// Saint-Martin), which are part of the EU; it excludes overseas countries
// and territories outside the EU such as Greenland, the Faroe Islands,
// Saint-Barthélemy, New Caledonia and French Polynesia, and Svalbard, to
// which the EEA Agreement does not apply.
var eeaCountries = setOf(
	// EU 27
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
	"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
	// EFTA states in the EEA
	"IS", "LI", "NO",
	// EU outermost regions and Åland with their own ISO codes
	"AX", "GF", "GP", "MQ", "YT", "RE", "MF",
)

// euAdequate lists the countries with a European Commission adequacy
// decision under GDPR Art. 45 (as of 2025): Andorra, Argentina, Canada
// (organisations subject to PIPEDA), Switzerland, the Faroe Islands, the
// United Kingdom, Guernsey, Israel, the Isle of Man, Japan, Jersey, the
// Republic of Korea, New Zealand and Uruguay. The United States has a
// decision only for organisations certified under the EU-US Data Privacy
// Framework: use transfer: dpf for those, not adequacy.
var euAdequate = setOf("AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JP", "JE", "KR", "NZ", "UY")

// ukAdequate lists the destinations covered by UK adequacy regulations
// ("data bridges") under UK GDPR Art. 45 (as of 2025): the EEA, Gibraltar,
// the countries the EU had found adequate when the UK left, and the Republic
// of Korea. The United States is covered only for organisations certified
// under the UK Extension to the Data Privacy Framework: use transfer: dpf.
var ukAdequate = func() map[string]bool {
	m := setOf("GI", "AD", "AR", "CA", "CH", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "UY", "KR")
	for c := range eeaCountries {
		m[c] = true
	}
	return m
}()

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// CountryName returns the English short name of an ISO 3166-1 alpha-2 code
// for notices, and whether the code is assigned.
func CountryName(code string) (string, bool) {
	n, ok := isoCountries[code]
	return n, ok
}

// InEEA reports whether the country is in the European Economic Area, where
// data moves under the GDPR without a transfer mechanism.
func InEEA(code string) bool { return eeaCountries[code] }

// EUAdequate reports whether the European Commission has found the country
// adequate (GDPR Art. 45). The United States is not in this list: only
// Data Privacy Framework certified organisations are covered (transfer: dpf).
func EUAdequate(code string) bool { return euAdequate[code] }

// UKAdequate reports whether UK adequacy regulations cover the country
// (UK GDPR Art. 45). The United States needs the UK Extension to the DPF.
func UKAdequate(code string) bool { return ukAdequate[code] }

// checkCountry says what is wrong with a country code, or "" if it is a
// valid ISO 3166-1 alpha-2 code.
func checkCountry(code string) string {
	if _, ok := isoCountries[code]; ok {
		return ""
	}
	up := strings.ToUpper(strings.TrimSpace(code))
	if hint, ok := countryHints[up]; ok {
		if hint == "" {
			return quote(code) + " is not a country; use the ISO 3166-1 alpha-2 code of a country, e.g. DE or IE"
		}
		return quote(code) + " is not an ISO 3166-1 alpha-2 code; use " + quote(hint) + " (" + isoCountries[hint] + ")"
	}
	if _, ok := isoCountries[up]; ok {
		return "country codes are written in capitals: use " + quote(up) + " (" + isoCountries[up] + ")"
	}
	for c, name := range isoCountries {
		if strings.EqualFold(name, strings.TrimSpace(code)) {
			return quote(code) + " must be written as its ISO 3166-1 alpha-2 code " + quote(c)
		}
	}
	return quote(code) + " is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. NO, DE, US)"
}
