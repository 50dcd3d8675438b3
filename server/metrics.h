// Request metrics for /metrics (Prometheus text format 0.0.4): a counter per
// route pattern and status code, a latency histogram per route pattern, and
// named counters (sync mutations by outcome, changes pulled, snapshot rows).
// Gauges (pool, connections, queue) are read at render time through a
// callback. Thread-safe; recording takes one short mutex.
#ifndef VEMAKIN_SERVER_METRICS_H_
#define VEMAKIN_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vemakin::server {

class Metrics {
 public:
  // Upper bounds in seconds of the latency histogram buckets.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  void RecordRequest(const std::string& method, const std::string& route, int status,
                     double seconds);
  // Adds to a counter, e.g. Count("vemakin_sync_mutations_total", "outcome=\"applied\"", 3).
  void Count(const std::string& name, const std::string& labels, double n);
  // name -> value pairs appended as gauges when rendering.
  using GaugeSource = std::function<std::vector<std::pair<std::string, double>>()>;
  void SetGaugeSource(GaugeSource source);
  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, std::map<std::string, double>> counters_;  // name -> labels -> value
  GaugeSource gauges_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_METRICS_H_
