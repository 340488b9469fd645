package isolation

// TEMPORARY: stand-ins until the policy and seccomp branches are merged.

import (
	"context"

)

type supervisor struct{}

func newSupervisor(listener int, rules *Policy, report func(Event)) *supervisor { return nil }
func (s *supervisor) Run(ctx context.Context) error                             { return nil }


// haveSupervisor turns supervision on once the supervisor exists.
const haveSupervisor = false
