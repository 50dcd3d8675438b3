#include "server/metrics.h"

#include <cstdio>
#include <tuple>

namespace vemakin::server {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values are our own route patterns and methods; escape anyway.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::RecordRequest(const std::string& method, const std::string& route, int status,
                            double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[std::make_tuple(method, route, status)];
  Histogram& h = latency_[{method, route}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::SetGaugeSource(GaugeSource source) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_ = std::move(source);
}

void Metrics::Count(const std::string& name, const std::string& labels, double n) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_[name][labels] += n;
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  GaugeSource gauges;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out += "# HELP vemakin_http_requests_total HTTP requests by route and status.\n";
    out += "# TYPE vemakin_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
      out += "vemakin_http_requests_total{method=\"" + Label(std::get<0>(key)) + "\",route=\"" +
             Label(std::get<1>(key)) + "\",status=\"" + std::to_string(std::get<2>(key)) + "\"} " +
             std::to_string(n) + "\n";
    }
    out += "# HELP vemakin_http_request_duration_seconds Request latency by route.\n";
    out += "# TYPE vemakin_http_request_duration_seconds histogram\n";
    for (const auto& [key, h] : latency_) {
      const std::string labels =
          "method=\"" + Label(key.first) + "\",route=\"" + Label(key.second) + "\"";
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        out += "vemakin_http_request_duration_seconds_bucket{" + labels + ",le=\"" +
               Num(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
      }
      out += "vemakin_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
             std::to_string(h.count) + "\n";
      out += "vemakin_http_request_duration_seconds_sum{" + labels + "} " + Num(h.sum) + "\n";
      out += "vemakin_http_request_duration_seconds_count{" + labels + "} " +
             std::to_string(h.count) + "\n";
    }
    for (const auto& [name, series] : counters_) {
      out += "# TYPE " + name + " counter\n";
      for (const auto& [labels, value] : series) {
        out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Num(value) + "\n";
      }
    }
    gauges = gauges_;
  }
  if (gauges) {
    for (const auto& [name, value] : gauges()) {
      out += "# TYPE " + name + " gauge\n" + name + " " + Num(value) + "\n";
    }
  }
  return out;
}

}  // namespace vemakin::server
