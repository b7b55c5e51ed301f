package otelsetup

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Environment variables Setup reads besides the standard OTEL_* ones.
const (
	// EnvEnable is the master switch: unset, "", "0" or "false" is off;
	// "1", "true" or "yes" (any case) is on; anything else is an error.
	EnvEnable = "ENABLE_INSTRUMENTATION"
	// EnvTraceDir is the directory of the legacy JSON files (default ".").
	EnvTraceDir = "ESCROW_TRACE_DIR"
)

// Standard variables Setup reads itself; the exporters, the sampler and the
// resource read the others (headers, timeouts, TLS, ...).
const (
	envSDKDisabled       = "OTEL_SDK_DISABLED"
	envTracesExporter    = "OTEL_TRACES_EXPORTER"
	envProtocol          = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol    = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envEndpoint          = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envInsecure          = "OTEL_EXPORTER_OTLP_INSECURE"
	envTracesInsecure    = "OTEL_EXPORTER_OTLP_TRACES_INSECURE"
	envSampler           = "OTEL_TRACES_SAMPLER"
	envSamplerArg        = "OTEL_TRACES_SAMPLER_ARG"
	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// DefaultServiceName is service.name when neither WithServiceName,
// OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES name the service.
const DefaultServiceName = "escrowtrace"

// ParseEnabled parses the value of ENABLE_INSTRUMENTATION.
func ParseEnabled(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, fmt.Errorf("otelsetup: %s=%q: want 1, true or yes to enable, or 0, false or empty to disable", EnvEnable, v)
}

// sdkDisabled reads OTEL_SDK_DISABLED as the specification says: "true"
// (any case) disables, any other value does not.
func sdkDisabled() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv(envSDKDisabled)), "true")
}

// otlpPlan is what the OTLP exporter autoexport builds will use, read with
// the rules of the OTLP exporter specification (and of otlptracegrpc and
// otlptracehttp).
type otlpPlan struct {
	protocol string
	endpoint string // as the exporter dials it: a URL
}

// planOTLP reads protocol and endpoint. An endpoint that is not a URL with
// an http or https scheme is an error: the Go exporters ignore it and send
// to their default instead, which nobody wants silently.
func planOTLP() (otlpPlan, error) {
	// As autoexport reads it: the traces variable when not empty, untrimmed.
	p := otlpPlan{protocol: os.Getenv(envTracesProtocol)}
	if p.protocol == "" {
		p.protocol = os.Getenv(envProtocol)
	}
	if p.protocol == "" {
		p.protocol = protocolHTTPProtobuf // the specification's default, and autoexport's
	}
	if p.protocol != protocolGRPC && p.protocol != protocolHTTPProtobuf {
		key := envTracesProtocol
		if os.Getenv(key) == "" {
			key = envProtocol
		}
		return p, fmt.Errorf("otelsetup: %s=%q: want grpc or http/protobuf", key, p.protocol)
	}
	if v := os.Getenv(envTracesEndpoint); v != "" {
		u, err := endpointURL(envTracesEndpoint, v)
		if err != nil {
			return p, err
		}
		if p.protocol == protocolHTTPProtobuf && u.Path == "" {
			u.Path = "/" // the signal endpoint is used as given
		}
		p.endpoint = u.String()
		return p, nil
	}
	if v := os.Getenv(envEndpoint); v != "" {
		u, err := endpointURL(envEndpoint, v)
		if err != nil {
			return p, err
		}
		if p.protocol == protocolHTTPProtobuf {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		} else {
			u.Path = ""
		}
		p.endpoint = u.String()
		return p, nil
	}
	insecure := strings.EqualFold(firstEnv(envTracesInsecure, envInsecure), "true")
	scheme := "https"
	if insecure {
		scheme = "http"
	}
	if p.protocol == protocolGRPC {
		p.endpoint = scheme + "://localhost:4317"
	} else {
		p.endpoint = scheme + "://localhost:4318/v1/traces"
	}
	return p, nil
}

func endpointURL(key, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otelsetup: %s=%q: want a URL such as http://127.0.0.1:4318 (http:// is plain text, https:// is TLS)", key, v)
	}
	return u, nil
}

// firstEnv returns the value of the first of keys that is set and not empty.
func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// envInt reads an integer variable; ok is false when it is unset.
func envInt(key string) (n int, ok bool, err error) {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("otelsetup: %s=%q: want an integer", key, v)
	}
	return n, true, nil
}
