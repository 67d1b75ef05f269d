// Package browsertest tests wsstream's Conn in a real browser: its js
// tests (*_js_test.go) dial wsstream.Dial from Go compiled to WebAssembly
// in headless Chromium, against a native server of wsstream.Accept
// endpoints (server_test.go). TestBrowser, a native test, builds and runs
// them; see internal/jsharness. The package has no code of its own.
package browsertest
