package otelsetup

import (
	"fmt"
	"strconv"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The span limits the legacy files need. The SDK applies OTEL_SPAN_* and
// OTEL_ATTRIBUTE_* limits when a span is recorded, before any processor
// sees it, so a lower limit would silently cut an escrow's file short (or
// cut escrow.id, so that two escrows share a file name). otelmsig's spans
// stay within the SDK's defaults (tested), so those are the floor; a value
// length limit cuts ids, addresses and messages, so there must be none.
const (
	needAttributeCount     = sdktrace.DefaultAttributeCountLimit
	needEventCount         = sdktrace.DefaultEventCountLimit
	needAttributePerEvent  = sdktrace.DefaultAttributePerEventCountLimit
	envSpanAttrValueLength = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"
	envAttrValueLength     = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
	envSpanAttrCount       = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"
	envAttrCount           = "OTEL_ATTRIBUTE_COUNT_LIMIT"
	envSpanEventCount      = "OTEL_SPAN_EVENT_COUNT_LIMIT"
	envEventAttributeCount = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"
	envSpanLinkCount       = "OTEL_SPAN_LINK_COUNT_LIMIT"
	envLinkAttributeCount  = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"
	noLimit                = -1
	limitAdvice            = "the legacy escrow files would lose data"
	valueLengthAdvice      = "unset it or set it to -1 (no limit): a length limit cuts escrow ids, wallet addresses and error messages"
)

// spanLimits returns the limits the provider uses: the SDK's defaults and
// the environment, checked against what the legacy files need. The SDK
// takes the first of a specific and a general variable that is set
// (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, then OTEL_ATTRIBUTE_COUNT_LIMIT), so the
// error names that one.
func spanLimits() (sdktrace.SpanLimits, error) {
	l := sdktrace.SpanLimits{
		AttributeValueLengthLimit:   sdktrace.DefaultAttributeValueLengthLimit,
		AttributeValueDepthLimit:    sdktrace.DefaultAttributeValueDepthLimit,
		AttributeCountLimit:         sdktrace.DefaultAttributeCountLimit,
		EventCountLimit:             sdktrace.DefaultEventCountLimit,
		LinkCountLimit:              sdktrace.DefaultLinkCountLimit,
		AttributePerEventCountLimit: sdktrace.DefaultAttributePerEventCountLimit,
		AttributePerLinkCountLimit:  sdktrace.DefaultAttributePerLinkCountLimit,
	}
	for _, lim := range []struct {
		keys []string
		dst  *int
		need int // 0: any value is fine; noLimit: only no limit
	}{
		{[]string{envSpanAttrValueLength, envAttrValueLength}, &l.AttributeValueLengthLimit, noLimit},
		{[]string{envSpanAttrCount, envAttrCount}, &l.AttributeCountLimit, needAttributeCount},
		{[]string{envSpanEventCount}, &l.EventCountLimit, needEventCount},
		{[]string{envEventAttributeCount}, &l.AttributePerEventCountLimit, needAttributePerEvent},
		{[]string{envSpanLinkCount}, &l.LinkCountLimit, 0},
		{[]string{envLinkAttributeCount}, &l.AttributePerLinkCountLimit, 0},
	} {
		for _, k := range lim.keys {
			n, ok, err := envInt(k)
			if err != nil {
				return l, err
			}
			if !ok {
				continue
			}
			switch {
			case lim.need == noLimit && n >= 0:
				return l, fmt.Errorf("otelsetup: %s=%d: %s", k, n, valueLengthAdvice)
			case lim.need > 0 && n >= 0 && n < lim.need:
				return l, fmt.Errorf("otelsetup: %s=%d: %s; unset it, or set it to -1 (no limit) or at least %s",
					k, n, limitAdvice, strconv.Itoa(lim.need))
			}
			*lim.dst = n
			break // the SDK ignores the general variable when the specific one is set
		}
	}
	return l, nil
}
