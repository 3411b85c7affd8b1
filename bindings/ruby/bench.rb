# frozen_string_literal: true

# Figures for bench.sh: the cost of a cached get_token from Ruby (the library's cache, an ffi
# call with the GVL released, a ServiceToken object), against a running emulator.
#   ruby -Ilib bench.rb URL WORKSPACE_CRN ACCESS_KEY
require "stack_auth"

url, crn, key = ARGV
strategy = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
strategy.get_token # warm the cache: one request

def measure(label, iterations: 200_000, rounds: 5)
  best = Float::INFINITY
  rounds.times do
    GC.start
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    iterations.times { yield }
    best = [best, (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t0).fdiv(iterations)].min
  end
  printf("  %-44s %8.0f ns/op  (best of %d x %d)\n", label, best, rounds, iterations)
  best
end

def threaded(label, threads:, per_thread:)
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
  threads.times.map { Thread.new { per_thread.times { yield } } }.each(&:join)
  ns = (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t0).fdiv(threads * per_thread)
  printf("  %-44s %8.0f ns/op  (wall time per call, %d threads x %d)\n", label, ns, threads, per_thread)
end

puts "Ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}, #{StackAuth.build_info}"
cached = measure("get_token (cached)") { strategy.get_token }
measure("get_token.token (cached, + bearer string)") { strategy.get_token.token }
measure("try_get_token (cached)") { strategy.try_get_token }
measure("get_token.subject (+ claims JSON)", iterations: 50_000) { strategy.get_token.subject }
static = StackAuth::StaticTokenStrategy.new("a.b.c")
measure("StaticTokenStrategy#get_token") { static.get_token }
out = FFI::MemoryPointer.new(:uint64)
handle = strategy.handle
measure("raw sa_get_token + sa_token_free (floor)") do
  StackAuth::Native.sa_get_token(out, handle, 0)
  StackAuth::Native.sa_token_free(out.read_uint64)
end
measure("raw sa_version_number (ffi call, GVL kept)") { StackAuth::Native.sa_version_number }
threaded("get_token (cached), 4 threads", threads: 4, per_thread: 50_000) { strategy.get_token }
fn = StackAuth::AuthStrategyFn.new { "a.b.c" }
measure("AuthStrategyFn#get_token (a Ruby hook per call)", iterations: 2_000, rounds: 3) { fn.get_token }
puts format("cached get_token: %.2f us/op (target <= 3 us): %s", cached / 1000, cached <= 3000 ? "ok" : "over")
