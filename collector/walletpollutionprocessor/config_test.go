package walletpollutionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "walletpollution", f.Type().String())
	assert.Equal(t, component.StabilityLevelDevelopment, f.TracesStability())
	cfg := f.CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, 6*time.Second, cfg.DecisionWindow)

	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.True(t, p.Capabilities().MutatesData)
	_, err = f.CreateMetrics(context.Background(), processortest.NewNopSettings(Type), cfg, consumertest.NewNop())
	assert.Error(t, err, "traces only")
}

func TestConfigUnmarshal(t *testing.T) {
	cm := confmap.NewFromStringMap(map[string]any{
		"decision_window":          "2s",
		"max_endpoints":            16,
		"max_entries_per_endpoint": 64,
		"max_held_spans":           5000,
	})
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	assert.Equal(t, 2*time.Second, cfg.DecisionWindow)
	assert.Equal(t, 16, cfg.MaxEndpoints)
	assert.Equal(t, 64, cfg.MaxEntriesPerEndpoint)
	assert.Equal(t, 5000, cfg.MaxHeldSpans)
	require.NoError(t, confmap.Validate(cfg))

	err := confmap.NewFromStringMap(map[string]any{"decision_windw": "2s"}).Unmarshal(createDefaultConfig())
	assert.ErrorContains(t, err, "decision_windw", "a misspelt key is refused")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		errs   []string
	}{
		{"default", func(*Config) {}, nil},
		{"zero window", func(c *Config) { c.DecisionWindow = 0 }, []string{"decision_window must be positive", "got 0s"}},
		{"negative window", func(c *Config) { c.DecisionWindow = -time.Second }, []string{"decision_window must be positive", "got -1s"}},
		{"no endpoints", func(c *Config) { c.MaxEndpoints = 0 }, []string{"max_endpoints must be at least 1, got 0"}},
		{"one entry", func(c *Config) { c.MaxEntriesPerEndpoint = 1 }, []string{"max_entries_per_endpoint must be at least 2, got 1"}},
		{"no held spans", func(c *Config) { c.MaxHeldSpans = -5 }, []string{"max_held_spans must be at least 1, got -5"}},
		{"all wrong", func(c *Config) { *c = Config{} }, []string{"decision_window", "max_endpoints", "max_entries_per_endpoint", "max_held_spans"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.errs == nil {
				assert.NoError(t, err)
				return
			}
			for _, want := range tt.errs {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}
