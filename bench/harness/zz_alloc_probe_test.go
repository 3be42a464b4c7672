package harness

import "testing"

func TestZZAllocProbe(t *testing.T) {
	for name, prep := range map[string]cgoStepper{"rawSplice": rawSpliceStep, "kpipeSplice": kpipeSpliceStep, "rawTee": rawTeeStep, "kpipeTee": kpipeTeeStep} {
		step, release, err := prep()
		if err != nil {
			t.Fatal(err)
		}
		a := testing.AllocsPerRun(1000, func() { step() })
		release()
		t.Logf("%s: %.1f allocs/step", name, a)
	}
}
