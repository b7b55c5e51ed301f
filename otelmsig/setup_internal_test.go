package otelmsig

import (
	"strings"
	"testing"
	"time"
)

func TestSetupPlanFromEnv(t *testing.T) {

	for _, tc := range []struct {
		name    string
		env     map[string]string
		opts    []SetupOption
		want    setupPlan
		wantErr string
	}{
		{name: "unset", env: nil, want: setupPlan{}},
		{name: "empty", env: map[string]string{EnvEnable: ""}, want: setupPlan{}},
		{name: "0", env: map[string]string{EnvEnable: "0"}, want: setupPlan{}},
		{name: "false any case", env: map[string]string{EnvEnable: "FaLsE"}, want: setupPlan{}},
		{name: "off ignores the rest", env: map[string]string{EnvEnable: "0", "OTEL_TRACES_EXPORTER": "bogus"}, want: setupPlan{}},
		{name: "1", env: map[string]string{EnvEnable: "1"},
			want: setupPlan{enabled: true, dir: ".", otlpTimeout: DefaultOTLPTimeout}},
		{name: "true", env: map[string]string{EnvEnable: "TRUE"},
			want: setupPlan{enabled: true, dir: ".", otlpTimeout: DefaultOTLPTimeout}},
		{name: "yes, spaces", env: map[string]string{EnvEnable: " Yes "},
			want: setupPlan{enabled: true, dir: ".", otlpTimeout: DefaultOTLPTimeout}},
		{name: "garbage", env: map[string]string{EnvEnable: "maybe"}, wantErr: "ENABLE_INSTRUMENTATION=\"maybe\""},
		{name: "on is not a value", env: map[string]string{EnvEnable: "on"}, wantErr: "want 1, true or yes"},
		{name: "2", env: map[string]string{EnvEnable: "2"}, wantErr: "ENABLE_INSTRUMENTATION"},
		{name: "trace dir", env: map[string]string{EnvEnable: "1", EnvTraceDir: "/tmp/x"},
			want: setupPlan{enabled: true, dir: "/tmp/x", otlpTimeout: DefaultOTLPTimeout}},
		{name: "otlp endpoint", env: map[string]string{EnvEnable: "1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
			want: setupPlan{enabled: true, dir: ".", otlp: true, otlpTimeout: DefaultOTLPTimeout}},
		{name: "otlp traces endpoint", env: map[string]string{EnvEnable: "1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "127.0.0.1:4317"},
			want: setupPlan{enabled: true, dir: ".", otlp: true, otlpTimeout: DefaultOTLPTimeout}},
		{name: "env timeout is the exporter's", env: map[string]string{EnvEnable: "1", "OTEL_EXPORTER_OTLP_TIMEOUT": "1000"},
			want: setupPlan{enabled: true, dir: "."}},
		{name: "console", env: map[string]string{EnvEnable: "1", "OTEL_TRACES_EXPORTER": "console"},
			want: setupPlan{enabled: true, dir: ".", console: true, otlpTimeout: DefaultOTLPTimeout}},
		{name: "otlp,console", env: map[string]string{EnvEnable: "1", "OTEL_TRACES_EXPORTER": " otlp , Console"},
			want: setupPlan{enabled: true, dir: ".", otlp: true, console: true, otlpTimeout: DefaultOTLPTimeout}},
		{name: "none", env: map[string]string{EnvEnable: "1", "OTEL_TRACES_EXPORTER": "none"},
			want: setupPlan{enabled: true, dir: ".", otlpTimeout: DefaultOTLPTimeout}},
		{name: "unsupported exporter", env: map[string]string{EnvEnable: "1", "OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "\"zipkin\" is not supported"},
		{name: "options override env", env: map[string]string{EnvEnable: "garbage", EnvTraceDir: "/env",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "x:1", "OTEL_TRACES_EXPORTER": "console"},
			opts: []SetupOption{WithEnabled(true), WithTraceDir("/opt"), WithoutOTLP(), WithConsole(false, nil), WithOTLPTimeout(time.Second)},
			want: setupPlan{enabled: true, dir: "/opt", otlpTimeout: time.Second}},
		{name: "WithOTLPEndpoint", env: map[string]string{EnvEnable: "1"}, opts: []SetupOption{WithOTLPEndpoint("http://127.0.0.1:1")},
			want: setupPlan{enabled: true, dir: ".", otlp: true, otlpURL: "http://127.0.0.1:1", otlpTimeout: DefaultOTLPTimeout}},
		{name: "WithEnabled(false)", env: map[string]string{EnvEnable: "1"}, opts: []SetupOption{WithEnabled(false)}, want: setupPlan{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := setupConfig{getenv: func(k string) string { return tc.env[k] }}
			for _, o := range tc.opts {
				o.applySetup(&cfg)
			}
			got, err := cfg.plan()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("plan %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

}

func TestRedact(t *testing.T) {
	info := "MultisigxV2R1" + strings.Repeat("Zz9q", 40)
	for in, want := range map[string]string{
		"":                          "",
		"no secrets here":           "no secrets here",
		"info " + info + " x":       "info [redacted] x",
		"a " + info + ", b " + info: "a [redacted], b [redacted]",
		// wallet-rpc's own words are kept.
		"Multisig is an experimental feature": "Multisig is an experimental feature",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
