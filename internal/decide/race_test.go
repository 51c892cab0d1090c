//go:build race

package decide_test

// raceEnabled makes the exhaustive tests sample under the race detector,
// which slows them tenfold.
const raceEnabled = true
