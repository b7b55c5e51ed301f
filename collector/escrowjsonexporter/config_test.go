package escrowjsonexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestConfig(t *testing.T) {
	if err := componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()); err != nil {
		t.Fatal(err)
	}
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id      string
		want    func(*Config)
		wantErr []string
	}{
		{id: "escrowjson", want: func(c *Config) { c.Directory = "/var/lib/escrowtrace/traces" }},
		{id: "escrowjson/tuned", want: func(c *Config) {
			c.Directory, c.MaxPendingTraces, c.MaxEventsPerEscrow = "./traces", 10, 100
			c.LateSpanGrace, c.FlushInterval, c.RawAddresses, c.Sync = time.Minute, 2*time.Second, false, false
		}},
		{id: "escrowjson/nodir", wantErr: []string{"directory must be set"}},
		{id: "escrowjson/bad", wantErr: []string{"max_pending_traces 0", "late_span_grace -1s", "flush_interval 0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			sub, err := cm.Sub(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			err = confmap.Validate(cfg)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Validate passed %+v", cfg)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := NewFactory().CreateDefaultConfig().(*Config)
			tc.want(want)
			if *cfg != *want {
				t.Errorf("config %+v, want %+v", cfg, want)
			}
		})
	}
	var _ component.Config = (*Config)(nil)
}
