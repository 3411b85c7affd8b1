# frozen_string_literal: true

require_relative "test_helper"

# Many Ruby threads on one strategy: the cache and the single refresh live in the library, and
# the upstream request counts (from the emulator's log) are exact.
class ConcurrencyTest < StackAuthTest
  def test_16_threads_by_1000_cached_calls_make_no_request
    strategy = access_key_strategy
    expected = strategy.get_token.token
    emu.clear_requests
    start = Thread::Queue.new
    threads = 16.times.map do
      Thread.new do
        start.pop
        mismatches = 0
        1000.times { mismatches += 1 unless strategy.get_token.token == expected }
        mismatches
      end
    end
    16.times { start << true }
    mismatches = within(60, "16 x 1000 cached calls") { threads.map(&:value) }
    assert_equal [0] * 16, mismatches
    assert_equal 0, emu.requests.size, "every call was served from the cache"
  end

  def test_200_concurrent_calls_on_an_expired_token_make_exactly_one_request
    emu.config(tokenTtlSecs: 2)
    strategy = access_key_strategy
    old = strategy.get_token
    # Let the token expire for real (no call in between, so no background refresh starts).
    sleep 0.05 until Time.now >= old.expires_at + 1
    # The new token lives long, so no caller can find it stale (a second, background refresh).
    emu.config(tokenTtlSecs: 900)
    emu.clear_requests
    gate = Thread::Queue.new
    threads = 200.times.map do
      Thread.new do
        gate.pop
        strategy.get_token(timeout: 20).token
      end
    end
    200.times { gate << true }
    tokens = within(60, "200 concurrent calls") { threads.map(&:value) }
    assert_equal 1, authorise_count, "one refresh for 200 callers"
    assert_equal 1, tokens.uniq.size
    refute_same_secret old.token, tokens.first
  end

  # docs/c-abi.md P13: Ruby's Timeout (Thread#raise) cannot interrupt a call inside the library; the call
  # ends at its own timeout and the interrupt is delivered then.
  def test_timeout_timeout_waits_for_the_call_timeout_p13
    strategy = slow_access_key_strategy(5000)
    started = monotonic
    assert_raises(Timeout::Error) do
      Timeout.timeout(0.2) { strategy.get_token(timeout: 1.0) }
    end
    elapsed = monotonic - started
    assert_operator elapsed, :>=, 0.9
    assert_operator elapsed, :<, 3.0, "the call's 1 s timeout, not the emulator's 5 s"
  end
end
