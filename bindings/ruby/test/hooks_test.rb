# frozen_string_literal: true

require_relative "test_helper"

# Ruby hooks: AuthStrategyFn, OidcFederationStrategy, TokenStoreFn and the stores. An
# exception in a hook reaches the caller as CallbackError, never as a token; a hook that never
# answers times out; hooks survive GC and are released exactly once.
class HooksTest < StackAuthTest
  class HookFailure < StandardError; end

  # Counts the destroy notifications per user_data address.
  module DestroyCounter
    def self.counts
      @counts ||= Hash.new(0)
    end

    def unregister(user_data)
      address = user_data.is_a?(FFI::Pointer) ? user_data.address : user_data
      DestroyCounter.counts[address] += 1
      super
    end
  end
  StackAuth::Callbacks.singleton_class.prepend(DestroyCounter)

  def test_auth_strategy_fn_asks_the_block_on_every_call
    calls = 0
    strategy = closing(StackAuth::AuthStrategyFn.new { calls += 1; "tok.#{calls}.x" })
    assert_equal "tok.1.x", strategy.get_token.token
    assert_equal "tok.2.x", strategy.get_token.token
    assert_equal 2, calls
    assert_nil strategy.try_get_token, "a hook strategy never answers without waiting"
  end

  def test_auth_strategy_fn_takes_a_callable
    strategy = closing(StackAuth::AuthStrategyFn.new(-> { "from.a.lambda" }, timeout: 5))
    assert_equal "from.a.lambda", strategy.get_token.token
    opened = StackAuth::AuthStrategyFn.open(-> { "x.y.z" }) { |s| [s.get_token.token, s] }
    assert_equal "x.y.z", opened[0]
    assert opened[1].closed?
    assert_raises(StackAuth::InvalidArgument) { StackAuth::AuthStrategyFn.new }
    assert_raises(StackAuth::InvalidArgument) { StackAuth::AuthStrategyFn.new(42) }
    assert_raises(StackAuth::InvalidArgument) { StackAuth::AuthStrategyFn.new(-> { "a" }) { "b" } }
  end

  def test_auth_strategy_fn_can_wrap_another_strategy
    inner = access_key_strategy
    outer = closing(StackAuth::AuthStrategyFn.new { inner.get_token })
    token = outer.get_token
    assert_same_secret inner.get_token.token, token.token
    assert_match(/\ACS\|CSAK/, token.subject)
  end

  def test_a_raising_block_is_a_callback_error_with_class_and_message
    strategy = closing(StackAuth::AuthStrategyFn.new { raise HookFailure, "the vault is sealed" })
    error = assert_raises(StackAuth::CallbackError) { strategy.get_token }
    assert_equal "HooksTest::HookFailure", error.code
    assert_equal "the vault is sealed", error.message
    assert_equal StackAuth::Native::E_CALLBACK, error.status

    strategy = closing(StackAuth::AuthStrategyFn.new { raise "plain" })
    error = assert_raises(StackAuth::CallbackError) { strategy.get_token }
    assert_equal %w[RuntimeError plain], [error.code, error.message]

    # Not only StandardError: every exception is caught and carried over.
    strategy = closing(StackAuth::AuthStrategyFn.new { raise NotImplementedError, "not yet" })
    error = assert_raises(StackAuth::CallbackError) { strategy.get_token }
    assert_equal "NotImplementedError", error.code
  end

  def test_a_block_that_returns_no_string_is_a_callback_error
    [nil, 42, :sym].each do |value|
      strategy = closing(StackAuth::AuthStrategyFn.new { value })
      error = assert_raises(StackAuth::CallbackError) { strategy.get_token }
      assert_equal "TypeError", error.code
    end
    # An empty String is the library's call, the same in every language: never a token.
    strategy = closing(StackAuth::AuthStrategyFn.new { "" })
    error = assert_raises(StackAuth::CallbackError) { strategy.get_token }
    assert_equal "CUSTOM", error.code
  end

  def test_the_block_runs_on_the_calling_thread_and_a_failure_keeps_its_cause
    threads = []
    strategy = closing(StackAuth::AuthStrategyFn.new { threads << Thread.current; "in.caller.x" })
    assert_equal "in.caller.x", strategy.get_token.token
    Thread.new { strategy.get_token }.join.then { |t| assert_equal [Thread.current, t], threads }
    failing = closing(StackAuth::AuthStrategyFn.new { raise HookFailure, "vault sealed" })
    error = assert_raises(StackAuth::CallbackError) { failing.get_token }
    assert_instance_of HookFailure, error.cause
    assert(error.cause.backtrace.any? { |l| l.include?("hooks_test.rb") })
  end

  # docs/c-abi.md P1: a hook that answers after 200 ms, with every public call made from the main thread:
  # nothing may deadlock on the GVL.
  def test_no_deadlock_when_the_main_thread_waits_for_a_hook_p1
    assert_same Thread.main, Thread.current
    started = monotonic
    strategy = StackAuth::AuthStrategyFn.new do
      sleep 0.2
      "slow.hook.token"
    end
    assert_equal "slow.hook.token", strategy.get_token.token
    assert_nil strategy.try_get_token
    q = Thread::Queue.new
    strategy.get_token_async { |tok, err| q << (tok ? tok.token : err) }
    assert_equal "slow.hook.token", q.pop
    oidc = StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) do
      sleep 0.2
      oidc_jwt("github|slow")
    end
    token = oidc.get_token
    assert_equal "CS|github|slow", token.subject
    oidc.invalidate(token)
    saved = Thread::Queue.new
    store = StackAuth::TokenStoreFn.new(load: -> { sleep 0.2; nil }, save: ->(json) { sleep 0.2; saved << json })
    keyed = StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                             base_url: emu.url, store: store)
    assert keyed.get_token.token
    assert saved.pop
    [strategy, oidc, keyed, store].each(&:close)
    assert_operator monotonic - started, :<, 5.0
  end

  # The token reaches the caller before its store save (docs/architecture.md D3):
  # StackAuth.flush is how a host knows the save is done; false while it runs, true after.
  def test_flush_waits_for_the_save_that_follows_the_token
    release = Thread::Queue.new
    saved = []
    store = StackAuth::TokenStoreFn.new(load: -> {}, save: lambda { |json|
      release.pop
      saved << json
    })
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                        base_url: emu.url, store: store))
    assert strategy.get_token.token
    refute StackAuth.flush(0.05) # the save is held
    assert_empty saved
    release << :go
    assert StackAuth.flush(10)
    assert_equal 1, saved.size
    assert_raises(StackAuth::InvalidArgument) { StackAuth.flush(-1) } # the library's timeout rule
    store.close
  end

  def test_oidc_federation_exchanges_each_jwt_once
    jwt = oidc_jwt("github|repo:acme/app")
    asked = 0
    strategy = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) do
      asked += 1
      jwt
    end)
    token = strategy.get_token
    assert_equal "CS|github|repo:acme/app", token.subject
    assert_equal emu.workspace_id, token.workspace_id
    assert_same_secret token.token, strategy.get_token.token
    assert_equal 2, asked, "the provider is asked on every call"
    assert_equal 1, authorise_count, "one exchange for one JWT"
    assert_equal %w[oidcToken workspaceId], emu.requests("/api/authorise").first["keys"]
  end

  def test_oidc_federation_with_provider_keyword_and_store
    store = closing(StackAuth.open_store("memory:"))
    strategy = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url,
                                                             store: store, provider: -> { oidc_jwt("gitlab|x") }))
    assert_equal "CS|gitlab|x", strategy.get_token.subject
  end

  def test_oidc_provider_exception_is_a_callback_error
    error = failing_provider_error("ACTIONS_ID_TOKEN_REQUEST_URL is not set")
    assert_equal "ACTIONS_ID_TOKEN_REQUEST_URL is not set", error.message
  end

  def test_oidc_federation_checks_its_arguments
    assert_raises(StackAuth::InvalidCrn) do
      StackAuth::OidcFederationStrategy.new(workspace_crn: "crn:x") { "a.b.c" }
    end
    # Without a provider, only a JWT the caller passes works.
    bare = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url))
    assert_raises(StackAuth::InvalidArgument) { bare.get_token }
    assert_raises(StackAuth::InvalidArgument) { bare.get_token(jwt: 42) }
  end

  def test_token_store_fn_saves_and_a_second_strategy_loads_without_http
    saved = []
    store = closing(StackAuth::TokenStoreFn.new(load: -> { saved.last }, save: ->(json) { saved << json }))
    first = access_key_strategy(store: store)
    token = first.get_token
    assert_equal 0, StackAuth::Native.sa_flush(5000) # the save follows get_token's return
    assert_equal 1, saved.size
    data = JSON.parse(saved.last)
    assert_kind_of Hash, data
    assert saved.last.include?(token.token), "the saved JSON holds the token"

    second = access_key_strategy(store: store)
    assert_same_secret token.token, second.get_token.token
    assert_equal 1, authorise_count, "the second strategy started from the store"
  end

  def test_token_store_fn_gets_the_scope_when_it_takes_one_and_never_crosses_credentials
    key2 = emu.control("POST", "access-keys", { workspaceId: emu.workspace_id }).fetch("accessKey")
    slots = {}
    keyed = closing(StackAuth::TokenStoreFn.new(load: ->(scope) { slots[scope] },
                                                save: ->(json, scope) { slots[scope] = json }))
    one = nil # an upstream-shaped store: one slot, blind to scopes
    blind = closing(StackAuth::TokenStoreFn.new(load: -> { one }, save: ->(json) { one = json }))
    [[keyed, 2], [blind, 4]].each do |store, want|
      emu.clear_requests
      subjects = [emu.access_key, key2, emu.access_key, key2].map do |key|
        s = StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: key, store: store,
                                             base_url: emu.url)
        begin
          s.get_token.subject
        ensure
          s.close
        end
      end
      assert_equal want, authorise_count, "a token saved for another key is never served"
      refute_equal subjects[0], subjects[1]
      assert_equal subjects[0..1], subjects[2..3]
    end
    assert_equal 2, slots.size
    assert(slots.keys.all? { |scope| scope.start_with?("access-key/#{emu.workspace_id}/") }, "a scope names the credential")
  end

  def test_token_store_fn_failures_are_misses_not_errors
    store = closing(StackAuth::TokenStoreFn.new(load: -> { raise IOError, "disk gone" },
                                                save: ->(_json) { raise IOError, "disk full" }))
    assert_jwt(access_key_strategy(store: store).get_token.token)
    garbage = closing(StackAuth::TokenStoreFn.new(load: -> { "{not json" }, save: nil))
    assert_jwt(access_key_strategy(store: garbage).get_token.token)
    wrong_type = closing(StackAuth::TokenStoreFn.new(load: -> { 42 }, save: nil))
    assert_jwt(access_key_strategy(store: wrong_type).get_token.token)
    assert_equal 3, authorise_count
  end

  def test_token_store_fn_that_never_answers_times_out_and_the_strategy_goes_on
    release = Thread::Queue.new
    store = closing(StackAuth::TokenStoreFn.new(load: -> { release.pop }, save: nil, timeout: 0.3))
    started = monotonic
    assert_jwt(access_key_strategy(store: store).get_token(timeout: 10).token)
    assert_operator monotonic - started, :<, 5.0
  ensure
    release&.push(nil)
  end

  def test_token_store_fn_checks_its_arguments
    assert_raises(StackAuth::InvalidArgument) { StackAuth::TokenStoreFn.new(load: 1, save: nil) }
    assert_raises(StackAuth::InvalidArgument) { StackAuth::TokenStoreFn.new(load: nil, save: nil) }
    assert_raises(ArgumentError) { StackAuth::TokenStoreFn.new(load: -> {}) }
    # By address, not by count: an earlier test's hook may be released meanwhile.
    before = StackAuth::Callbacks.instance_variable_get(:@registry).keys
    assert_raises(StackAuth::InvalidArgument) { StackAuth::TokenStoreFn.new(load: -> {}, save: nil, timeout: -1) }
    added = StackAuth::Callbacks.instance_variable_get(:@registry).keys - before
    assert_empty added, "a failed constructor leaves nothing registered"
  end

  def test_file_store_is_shared_and_survives_closing_the_store_object
    url = "file://#{@tmp}/token.json"
    store = StackAuth.open_store(url)
    first = access_key_strategy(store: store)
    store.close # the strategy keeps its own reference
    assert store.closed?
    token = first.get_token
    assert_equal 0, StackAuth::Native.sa_flush(5000) # the save follows get_token's return
    assert File.exist?(File.join(@tmp, "token.json"))
    second = access_key_strategy(store: closing(StackAuth.open_store(url)))
    assert_same_secret token.token, second.get_token.token
    assert_equal 1, authorise_count
    refute_secret(token.token, store.inspect)
  end

  def test_in_memory_store_and_closed_store_handle
    store = StackAuth::InMemoryTokenStore.new
    assert_equal "#<StackAuth::InMemoryTokenStore>", store.inspect
    store.close
    store.close
    assert_raises(StackAuth::InvalidHandle) { access_key_strategy(store: store) }
  end

  # docs/c-abi.md P6: nothing but the registry references the hook; GC (and compaction) must not free it.
  def test_hooks_survive_gc_between_creation_and_first_use_p6
    strategy = make_counting_strategy
    store, address = registered { make_memory_fn_store }
    keyed = access_key_strategy(store: store)
    destroyed = DestroyCounter.counts[address] # the address may have been used before
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    GC.compact if GC.respond_to?(:compact)
    GC.start
    assert_equal "gc.1.token", strategy.get_token.token
    assert_equal "gc.2.token", strategy.get_token.token
    assert_jwt(keyed.get_token.token)
    store.close
    keyed.close
    wait_for_destroy(address)
    assert_equal 1, DestroyCounter.counts[address] - destroyed, "destroy ran exactly once for the store hook"
  end

  def test_destroy_runs_exactly_once_when_the_strategy_is_closed
    strategy, address = registered { StackAuth::AuthStrategyFn.new { "a.b.c" } }
    destroyed = DestroyCounter.counts[address]
    assert StackAuth::Callbacks[address], "the hook is registered"
    strategy.get_token
    strategy.close
    strategy.close
    wait_for_destroy(address)
    assert_nil StackAuth::Callbacks[address], "destroy released the hook"
    assert_equal 1, DestroyCounter.counts[address] - destroyed
  end

  def test_a_strategy_dropped_without_close_is_freed_by_the_gc
    # Build and drop the strategy on another thread, so no stack slot of this one keeps it.
    address = Thread.new { registered { StackAuth::AuthStrategyFn.new { "a.b.c" }.tap(&:get_token) }[1] }.value
    assert StackAuth::Callbacks[address], "the hook is registered"
    deadline = monotonic + 10
    while StackAuth::Callbacks[address] && monotonic < deadline
      GC.start(full_mark: true, immediate_sweep: true)
      StackAuth::Reaper.flush
    end
    assert_nil StackAuth::Callbacks[address], "the finalizer freed the handle and destroy ran"
  end

  private

  # destroy runs once the hook is no longer running: a hook that has just answered may still
  # be returning on its callback thread when close returns, and then destroy follows at once.
  def wait_for_destroy(address)
    within(5, "destroy") { Thread.pass while StackAuth::Callbacks[address] }
  end

  # Runs the block and returns its value with the user_data address it registered.
  def registered
    before = StackAuth::Callbacks.instance_variable_get(:@registry).keys
    value = yield
    added = StackAuth::Callbacks.instance_variable_get(:@registry).keys - before
    assert_equal 1, added.size
    [value, added.first]
  end

  def make_counting_strategy
    n = 0
    closing(StackAuth::AuthStrategyFn.new { "gc.#{n += 1}.token" })
  end

  def make_memory_fn_store
    memory = {}
    StackAuth::TokenStoreFn.new(load: -> { memory[:t] }, save: ->(json) { memory[:t] = json })
  end
end
