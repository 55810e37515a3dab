// The SDK runtime's Prometheus exporter, for `imagebatch worker --metrics`: the SDK's own metrics and imagebatch's
// (recorded through the SDK's meters) on one endpoint, GET http://IP:PORT/metrics.
import type { MetricsExporterConfig } from '@temporalio/worker';

/** Buckets in seconds for imagebatch's histograms (the exporter's default buckets are milliseconds). */
const SECONDS_BUCKETS = {
  imagebatch_provider_call_seconds: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  imagebatch_image_seconds: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 86400],
};

export function prometheusExporter(bindAddress: string): MetricsExporterConfig {
  return { prometheus: { bindAddress, histogramBucketOverrides: SECONDS_BUCKETS } };
}
