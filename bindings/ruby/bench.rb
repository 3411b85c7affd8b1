# frozen_string_literal: true

# Figures for bench.sh: the cost of a cached get_token from Ruby (the library's cache, an ffi
# call with the GVL released, a ServiceToken object), one AuthStrategyFn round trip, 10,000
# get_token_async callers coalescing on one refresh, the gem's size, and a fresh ruby process
# from `require "stack_auth"` to the first token; against a running emulator.
#   ruby -Ilib bench.rb URL WORKSPACE_CRN ACCESS_KEY [JSON_OUT]
require "stack_auth"
require "json"
require "net/http"
require "open3"
require "rbconfig"

url, crn, key, json_out = ARGV
RESULTS = [] # rubocop:disable Style/MutableConstant -- record appends each result
CALLERS = 10_000
DELAY_MS = 200
LOAD_RUNS = 7

def record(metric, name, value, unit, headline: false, **extra)
  RESULTS << { metric: metric, name: name, value: value.round(3), unit: unit, headline: headline, **extra }
end

strategy = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
strategy.get_token # warm the cache: one request

def measure(label, iterations: 200_000, rounds: 5, metric: nil, headline: false, name: nil, **extra)
  best = Float::INFINITY
  rounds.times do
    GC.start
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    iterations.times { yield }
    best = [best, (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t0).fdiv(iterations)].min
  end
  printf("  %-44s %8.0f ns/op  (best of %d x %d)\n", label, best, rounds, iterations)
  record(metric, name || label, best, "ns/op", headline: headline, **extra) if metric
  best
end

def threaded(label, threads:, per_thread:, metric: nil)
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
  threads.times.map { Thread.new { per_thread.times { yield } } }.each(&:join)
  ns = (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t0).fdiv(threads * per_thread)
  printf("  %-44s %8.0f ns/op  (wall time per call, %d threads x %d)\n", label, ns, threads, per_thread)
  record(metric, "#get_token, #{threads} threads (wall time per call)", ns, "ns/op") if metric
end

# The emulator's test-control API.
def ctl(base, method, path, body = nil)
  uri = URI.join(base, path)
  req = Net::HTTP.const_get(method.capitalize).new(uri, "Content-Type" => "application/json")
  req.body = JSON.generate(body) if body
  res = Net::HTTP.start(uri.host, uri.port, open_timeout: 10, read_timeout: 10) { |http| http.request(req) }
  raise "#{method} #{path}: HTTP #{res.code}" unless res.is_a?(Net::HTTPSuccess)

  res.body.to_s.empty? ? nil : JSON.parse(res.body)
end

puts "Ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}, #{StackAuth.build_info}"
cached = measure("get_token (cached)", metric: "cached", headline: true, name: "strategy.get_token") { strategy.get_token }
measure("get_token.token (cached, + bearer string)", metric: "cached", name: "strategy.get_token.token") do
  strategy.get_token.token
end
measure("try_get_token (cached)", metric: "cached", name: "strategy.try_get_token") { strategy.try_get_token }
measure("get_token.subject (+ claims JSON)", iterations: 50_000, metric: "cached_extra",
                                             name: "strategy.get_token.subject (claims JSON)") do
  strategy.get_token.subject
end
static = StackAuth::StaticTokenStrategy.new("a.b.c")
measure("StaticTokenStrategy#get_token", metric: "cached_extra", name: "StaticTokenStrategy#get_token") do
  static.get_token
end
out = FFI::MemoryPointer.new(:uint64)
handle = strategy.handle
measure("raw sa_get_token + sa_token_free (floor)", metric: "cached_extra",
                                                   name: "raw ffi sa_get_token + sa_token_free") do
  StackAuth::Native.sa_get_token(out, handle, 0)
  StackAuth::Native.sa_token_free(out.read_uint64)
end
measure("raw sa_version_number (ffi call, GVL kept)", metric: "cached_extra",
                                                     name: "ffi call floor: sa_version_number") do
  StackAuth::Native.sa_version_number
end
threaded("get_token (cached), 4 threads", threads: 4, per_thread: 50_000, metric: "cached2") { strategy.get_token }
# User functions run in the caller (docs/architecture.md D4); issue 16's figure before: 77 µs per call.
old = { old: 77_000, target: 5_000 }
fn = StackAuth::AuthStrategyFn.new { "a.b.c" }
measure("AuthStrategyFn#get_token  [target <= 5000; old 77000]", iterations: 100_000, metric: "callback",
                                                                  headline: true,
                                                                  name: "AuthStrategyFn.new { token }.get_token", **old) do
  fn.get_token
end
fake_jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaC1vaWRjIn0.c2ln"
oidc = StackAuth::OidcFederationStrategy.new(workspace_crn: crn, base_url: url) { fake_jwt }
oidc.get_token
measure("OIDC get_token (cached)  [target <= 5000; old 77000]", iterations: 100_000, metric: "callback",
                                                                  name: "OidcFederationStrategy (cached).get_token", **old) do
  oidc.get_token
end
measure("OIDC get_token(jwt:) (cached)", iterations: 100_000, metric: "callback",
                                         name: "OidcFederationStrategy (cached).get_token(jwt:)", **old) do
  oidc.get_token(jwt: fake_jwt)
end
oidc.close
fn.close
static.close

# ---- 10,000 get_token_async callers on an expired token, /api/authorise delayed -----------
ctl(url, "POST", "/_emulator/config", { tokenTtlSecs: 1 })
co = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
exp = co.get_token.expires_at
exp = exp.to_f # a Time (or an Integer)
ctl(url, "POST", "/_emulator/config", { tokenTtlSecs: 900 })
sleep 0.02 while Time.now.to_f < exp # real time passing: expired, not just stale
ctl(url, "DELETE", "/_emulator/requests")
ctl(url, "DELETE", "/_emulator/faults")
ctl(url, "POST", "/_emulator/faults", { path: "/api/authorise", delayMs: DELAY_MS, count: 1 })
lock = Mutex.new
all_done = ConditionVariable.new
done = 0
ok = 0
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
CALLERS.times do
  co.get_token_async do |token, _error|
    lock.synchronize do
      ok += 1 if token
      done += 1
      all_done.signal if done == CALLERS
    end
  end
end
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
deadline = t0 + 60
lock.synchronize do
  while done < CALLERS
    left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
    break if left <= 0

    all_done.wait(lock, left)
  end
end
ms = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1000
upstream = ctl(url, "GET", "/_emulator/requests")["requests"].count { |r| r["path"] == "/api/authorise" }
ctl(url, "DELETE", "/_emulator/faults")
co.close
printf("  %-44s %8.1f ms  (%d/%d tokens, %d upstream request(s), %.1f ms to start them; " \
       "/api/authorise delayed %d ms)\n", "10,000 get_token_async blocks, expired token", ms, ok, CALLERS, upstream,
       (started - t0) * 1000, DELAY_MS)
record("coalesce", "10,000 x get_token_async { |token, error| ... }", ms, "ms", headline: true, callers: CALLERS, ok: ok,
                                                              done: done, requests: upstream, delayMs: DELAY_MS,
                                                              startMs: ((started - t0) * 1000).round(3))

# ---- size: the built gem (it bundles libstack_auth.so.1) ----------------------------------
gem = Dir[File.expand_path("../../build/out/ruby/stack_auth-*.gem", __dir__)].max_by { |f| File.mtime(f) }
if gem
  printf("  %-44s %8.2f MB  (%s)\n", "gem file (bundles libstack_auth.so.1)", File.size(gem) / 1e6, File.basename(gem))
  record("size", "the .gem file (compressed, with the library)", File.size(gem), "bytes", headline: true,
         file: File.basename(gem))
end
libdir = File.expand_path("lib", __dir__)
installed = Dir[File.join(libdir, "**", "*")].select { |f| File.file?(f) }.sum { |f| File.size(f) }
printf("  %-44s %8.2f MB\n", "lib/ unpacked (with libstack_auth.so.1)", installed / 1e6)
record("size", "the gem's lib/ unpacked (with the library)", installed, "bytes")

# ---- a fresh ruby: require "stack_auth" .. first token -------------------------------------
LOAD = <<~RUBY
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  require "stack_auth"
  if ENV["BENCH_KIND"] == "static"
    StackAuth::StaticTokenStrategy.new("bench-token").get_token
  else
    StackAuth::AccessKeyStrategy.new(workspace_crn: ENV["BENCH_CRN"], access_key: ENV["BENCH_KEY"],
                                     base_url: ENV["BENCH_URL"]).get_token
  end
  puts((Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1000)
RUBY
def median(xs)
  xs.sort[xs.size / 2]
end
{ "static" => "StaticTokenStrategy", "access_key" => "AccessKeyStrategy" }.each do |kind, label|
  env = { "BENCH_KIND" => kind, "BENCH_CRN" => crn, "BENCH_KEY" => key, "BENCH_URL" => url }
  inner = []
  wall = []
  LOAD_RUNS.times do
    w0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    stdout, stderr, st = Open3.capture3(env, RbConfig.ruby, "-I", libdir, "-e", LOAD)
    wall << (Process.clock_gettime(Process::CLOCK_MONOTONIC) - w0) * 1000
    abort "bench.rb: the #{kind} load run failed: #{stderr[-500..] || stderr}" unless st.success?
    inner << stdout.to_f
  end
  printf("  %-44s %8.2f ms  (median of %d; whole process %.1f ms)\n", "require .. first #{label}", median(inner),
         LOAD_RUNS, median(wall))
  record("load_#{kind}", "require \"stack_auth\" .. #{label}, first get_token", median(inner), "ms", headline: true,
                                                                                     runs: LOAD_RUNS,
                                                                                     wallMs: median(wall).round(3))
end

puts format("cached get_token: %.2f us/op (target <= 3 us): %s", cached / 1000, cached <= 3000 ? "ok" : "over")
if json_out
  doc = { lang: "ruby", label: "Ruby", runtime: "Ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}", results: RESULTS }
  File.write(json_out, "#{JSON.pretty_generate(doc)}\n")
  puts "wrote #{json_out}"
end
