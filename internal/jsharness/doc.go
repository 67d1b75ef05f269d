// Package jsharness runs Go tests compiled to WebAssembly (GOOS=js
// GOARCH=wasm) in headless Chromium, from an ordinary native test: see
// [RunTests]. It also builds wasm programs and finds and starts Chromium
// for tests that load a page of their own. Everything but [Pattern] and
// [EnvServer] is built only for native platforms.
//
// Chromium is required under CI (CI set): a test that needs it fails when
// it is missing. Elsewhere such a test is skipped, saying why.
package jsharness
