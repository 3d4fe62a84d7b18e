package broken

import "testing"

func TestTwo(t *testing.T) {
	if Two() != Three() {
		t.Fatal("no")
	}
}
