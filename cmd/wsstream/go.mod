module github.com/wsstream/wsstream/cmd/wsstream

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/wsstream/wsstream v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)
