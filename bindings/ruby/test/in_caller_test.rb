# frozen_string_literal: true

require_relative "test_helper"
require "stringio"

# User functions run in the caller (docs/architecture.md D4, issue 16 items 1, 2, 5, 7): the OIDC provider
# runs on the calling thread and fiber, a cached JWT's token comes back without a library wait,
# a JWT passed with jwt: never calls the provider, everything works under a Fiber.scheduler, and
# a failing provider is the CallbackError's #cause.
class InCallerTest < StackAuthTest
  # The smallest Fiber scheduler Queue#pop and sleep need (the test must not depend on a gem).
  class MiniScheduler
    def initialize
      @ready = []
      @lock = Mutex.new
    end

    def fiber(&block)
      fiber = Fiber.new(blocking: false, &block)
      fiber.resume
      fiber
    end

    def block(_blocker, _timeout = nil)
      Fiber.yield
    end

    def unblock(_blocker, fiber)
      @lock.synchronize { @ready << fiber }
    end

    def kernel_sleep(_duration = nil)
      @lock.synchronize { @ready << Fiber.current }
      Fiber.yield
    end

    def io_wait(_io, _events, _timeout)
      raise NotImplementedError, "MiniScheduler does no IO"
    end

    def close
      loop do
        fiber = @lock.synchronize { @ready.shift }
        break if fiber.nil?

        fiber.resume if fiber.alive?
      end
    end
  end

  def test_provider_runs_in_the_caller_and_a_cached_jwt_needs_no_library_wait
    jwt = oidc_jwt("github|in-caller")
    threads = []
    oidc = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) do
      threads << Thread.current
      jwt
    end)
    first = oidc.get_token
    second = oidc.get_token
    assert_same_secret first.token, second.token
    assert_equal [Thread.current, Thread.current], threads
    assert_equal 1, authorise_count
  end

  def test_a_jwt_passed_by_the_caller_never_calls_the_provider
    calls = 0
    oidc = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) do
      calls += 1
      oidc_jwt("github|provider")
    end)
    a = oidc.get_token(jwt: oidc_jwt("github|tenant-a"))
    b = oidc.get_token(jwt: oidc_jwt("github|tenant-b"))
    assert_equal "CS|github|tenant-a", a.subject
    assert_equal "CS|github|tenant-b", b.subject
    assert_same_secret a.token, oidc.get_token(jwt: oidc_jwt("github|tenant-a")).token
    q = Thread::Queue.new
    oidc.get_token_async(jwt: oidc_jwt("github|tenant-b")) { |tok, err| q << (tok ? tok.subject : err) }
    assert_equal "CS|github|tenant-b", q.pop
    assert_equal 0, calls
    assert_equal 2, authorise_count
  end

  # Item 5: under a Fiber.scheduler, a provider that waits on another fiber (here a
  # Thread::Queue the other fiber fills) lets that fiber run. Before, the provider ran on
  # ruby-ffi's callback thread while the caller's thread sat in the library: the other fiber
  # never ran and the provider timed out.
  def test_works_under_a_fiber_scheduler
    jwt = oidc_jwt("github|fiber")
    results = []
    Thread.new do
      Fiber.set_scheduler(MiniScheduler.new)
      queue = Thread::Queue.new
      oidc = StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url,
                                                   timeout: 5) { queue.pop }
      Fiber.schedule do
        results << oidc.get_token.subject
      rescue StackAuth::Error => e
        results << e
      end
      Fiber.schedule { queue << jwt }
      Fiber.schedule do
        sleep 0 # the scheduler's kernel_sleep: yields to the other fibers first
        results << oidc.get_token(jwt: jwt).subject
      end
    end.join
    assert_equal ["CS|github|fiber", "CS|github|fiber"], results
    assert_equal 1, authorise_count
  end

  def test_a_failing_provider_is_the_cause
    assert_instance_of KeyError, failing_provider_error("no identity").cause
  end

  def test_timeout_is_a_timeout_error
    release = Thread::Queue.new
    store = closing(StackAuth::TokenStoreFn.new(load: -> { release.pop }, save: nil, timeout: 30))
    strategy = access_key_strategy(store: store)
    error = assert_raises(::Timeout::Error) { strategy.get_token(timeout: 0.2) }
    assert_kind_of StackAuth::Timeout, error
    assert_kind_of StackAuth::Error, error
  ensure
    release&.push(nil)
  end

  def test_store_failures_are_logged_by_the_library_in_its_words
    log = StringIO.new
    previous = StackAuth.logger
    StackAuth.logger = Logger.new(log, formatter: ->(severity, _time, _prog, msg) { "#{severity} #{msg}\n" })
    store = closing(StackAuth::TokenStoreFn.new(load: -> { raise IOError, "disk gone" },
                                                save: ->(_json) { raise IOError, "disk full" }))
    strategy = access_key_strategy(store: store)
    token = strategy.get_token
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5 # the library's log thread delivers them
    sleep 0.01 while log.string.lines.size < 2 && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    assert_equal ["WARN token store load failed error=disk gone\n", "WARN token store save failed error=disk full\n"],
                 log.string.lines
    refute_includes log.string, token.token
  ensure
    StackAuth.logger = previous
  end

  def test_on_event_reports_the_engines_events
    events = Thread::Queue.new
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                        base_url: emu.url, on_event: ->(event) { events << event }))
    token = strategy.get_token
    assert_equal %w[refresh_started refresh_succeeded], [events.pop["kind"], events.pop["kind"]]
    assert strategy.invalidate(token)
    event = events.pop
    assert_equal "token_invalidated", event["kind"]
    refute_includes JSON.generate(event), token.token
    assert_raises(StackAuth::InvalidArgument) { closing(StackAuth::AuthStrategyFn.new { "x" }).on_event { nil } }
  end
end
