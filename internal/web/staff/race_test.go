//go:build race

package staff

// raceEnabled: the race detector slows code unevenly, so timing
// comparisons are not meaningful.
const raceEnabled = true
