module github.com/escrowtrace/escrowtrace

go 1.26.0

require (
	github.com/icholy/digest v1.2.0
	go.opentelemetry.io/otel v1.47.0
)

require github.com/cespare/xxhash/v2 v2.3.0 // indirect
