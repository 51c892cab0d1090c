//go:build !race

package staff

const raceEnabled = false
