package main

import "github.com/photonctl/photonctl/pkg/dpdkenv/dpdkenvtest"

// fakeLibfstack is a libfstack.a look-alike for the doctor tests.
func fakeLibfstack(flowIsolate bool) []byte { return dpdkenvtest.FakeLibfstack(flowIsolate) }
