# frozen_string_literal: true

require_relative "test_helper"

# The strategies, their tokens and their lifecycle, against the emulator.
class StrategyTest < StackAuthTest
  def test_library_version_and_abi
    # VERSION is stamped from build/gen/tables.json (make gen), as the library's is.
    assert_equal StackAuth::VERSION, StackAuth.library_version
    assert_match(%r{\Astack-auth #{Regexp.escape(StackAuth::VERSION)} \(go[\d.]+ \w+/\w+\)\z}, StackAuth.build_info)
    assert_equal StackAuth::ABI_VERSION, StackAuth::Native.sa_abi_version
    assert StackAuth::Native.loaded?
  end

  def test_access_key_get_token_returns_claims
    token = access_key_strategy.get_token
    assert_kind_of StackAuth::ServiceToken, token
    assert_jwt(token.token)
    assert_match(/\ACS\|CSAK\w+\z/, token.subject)
    assert_equal emu.workspace_id, token.workspace_id
    assert_equal emu.url.chomp("/"), token.issuer.chomp("/")
    assert_kind_of Hash, token.services
    refute_empty token.services
    assert_kind_of Time, token.expires_at
    assert_in_delta Time.now + 900, token.expires_at, 60
    assert_equal({ subject: token.subject, workspace_id: token.workspace_id, issuer: token.issuer,
                   services: token.services, expires_at: token.expires_at }, token.to_h)
    assert_equal 1, authorise_count
  end

  def test_cached_token_makes_one_request
    strategy = access_key_strategy
    first = strategy.get_token.token
    5.times { assert_same_secret first, strategy.get_token.token }
    assert_equal 1, authorise_count
  end

  def test_get_token_timeout_argument_is_checked
    strategy = access_key_strategy
    error = assert_raises(StackAuth::InvalidArgument) { strategy.get_token(timeout: "1") }
    assert_equal "INVALID_ARGUMENT", error.code
    [-1, -0.0001, 86_400.001, 10**12].each do |bad|
      error = assert_raises(StackAuth::InvalidArgument) { strategy.get_token(timeout: bad) }
      assert_equal "INVALID_ARGUMENT", error.code
      # the library's words, the same in every language; help names Ruby's API
      assert_match(/\Athe call's timeout must be 0 \(the default\) or 1 to 86400000 ms \(a day\), not -?\d+ ms\z/,
                   error.message)
      assert_includes error.help, "`timeout:`"
    end
    assert_equal 0, authorise_count
    assert strategy.get_token(timeout: 86_400).token
    assert strategy.get_token(timeout: 0.0001).token # rounds up to 1 ms
  end

  def test_inspect_and_to_s_never_show_secrets
    strategy = access_key_strategy
    token = strategy.get_token
    bearer = token.token
    out, err = capture_io do
      p token
      puts token
      pp token
      p strategy
      p token.to_h
    end
    texts = [token.inspect, token.to_s, "#{token}", token.to_h.to_s, strategy.inspect, strategy.to_s, out, err] # rubocop:disable Style/RedundantInterpolation -- interpolation is one of the forms checked
    refute_secret(bearer, *texts)
    refute_secret(emu.access_key, *texts)
    refute_secret(emu.access_key.split(".").last, *texts)
    assert_includes token.inspect, "token=***"
    assert_includes token.inspect, token.subject
    assert_equal "StackAuth::ServiceToken(***)", token.to_s
    assert_equal "#<StackAuth::AccessKeyStrategy>", strategy.inspect
  end

  def test_a_token_is_never_serialised
    token = access_key_strategy.get_token
    token.token # the bearer string is now held by the object
    assert_raises(TypeError) { Marshal.dump(token) }
    require "yaml"
    assert_raises(TypeError) { YAML.dump(token) }
  end

  def test_close_is_idempotent_and_later_calls_raise_invalid_handle
    strategy = StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                base_url: emu.url)
    token = strategy.get_token
    refute strategy.closed?
    assert_nil strategy.close
    assert_nil strategy.close
    assert strategy.closed?
    assert_equal "#<StackAuth::AccessKeyStrategy (closed)>", strategy.inspect
    error = assert_raises(StackAuth::InvalidHandle) { strategy.get_token }
    assert_equal "INVALID_HANDLE", error.code
    assert_raises(StackAuth::InvalidHandle) { strategy.try_get_token }
    assert_raises(StackAuth::InvalidHandle) { strategy.invalidate(token) }
    assert_raises(StackAuth::InvalidHandle) { strategy.get_token_async { flunk "never called" } }
    # The token outlives its strategy.
    assert_jwt(token.token)
    assert_equal emu.workspace_id, token.workspace_id
  end

  def test_open_block_form_closes_and_returns_the_block_value
    kept = nil
    subject = StackAuth::AccessKeyStrategy.open(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                base_url: emu.url) do |s|
      kept = s
      s.get_token.subject
    end
    assert_match(/\ACS\|CSAK/, subject)
    assert kept.closed?

    assert_raises(RuntimeError) do
      StackAuth::StaticTokenStrategy.open("a.b.c") do |s|
        kept = s
        raise "inside"
      end
    end
    assert kept.closed?, "the strategy is closed when the block raises"

    # Without a block, open returns the strategy.
    s = closing(StackAuth::StaticTokenStrategy.open("a.b.c"))
    refute s.closed?
  end

  def test_detect_and_from_profile_take_a_block_too
    value = StackAuth::AutoStrategy.detect(access_key: emu.access_key, workspace_crn: emu.workspace_crn,
                                           base_url: emu.url) { |s| [s.class, s.get_token.workspace_id, s] }
    assert_equal StackAuth::AutoStrategy, value[0]
    assert_equal emu.workspace_id, value[1]
    assert value[2].closed?
    assert_raises(NoMethodError) { StackAuth::AutoStrategy.new }
  end

  def test_auto_strategy_detect_with_keywords
    strategy = closing(StackAuth::AutoStrategy.detect(access_key: emu.access_key, workspace_crn: emu.workspace_crn,
                                                      base_url: emu.url))
    token = strategy.get_token
    assert_match(/\ACS\|CSAK/, token.subject)
    assert_equal emu.workspace_id, token.workspace_id
  end

  def test_auto_strategy_reads_env_set_after_the_library_loaded_p27
    assert StackAuth.library_version # the library is loaded before the environment changes
    ENV["CS_CTS_HOST"] = emu.url
    ENV["CS_CLIENT_ACCESS_KEY"] = emu.access_key
    ENV["CS_WORKSPACE_CRN"] = emu.workspace_crn
    ENV["CS_CONFIG_PATH"] = @tmp
    token = closing(StackAuth::AutoStrategy.detect).get_token
    assert_match(/\ACS\|CSAK/, token.subject)
    assert_equal emu.workspace_id, token.workspace_id
    assert_equal 1, authorise_count, "the token came from this emulator (CS_CTS_HOST)"
  end

  def test_auto_strategy_with_nothing_configured_is_not_authenticated
    ENV["CS_CONFIG_PATH"] = @tmp
    error = assert_raises(StackAuth::NotAuthenticated) { StackAuth::AutoStrategy.detect }
    assert_equal "NOT_AUTHENTICATED", error.code
    assert_match(/login|CS_CLIENT_ACCESS_KEY/, error.help)
  end

  def test_static_token_strategy
    strategy = closing(StackAuth::StaticTokenStrategy.new("static.token.value"))
    assert_equal "static.token.value", strategy.get_token.token
    assert_equal "static.token.value", strategy.try_get_token.token
    assert_raises(StackAuth::InvalidArgument) { StackAuth::StaticTokenStrategy.new("") }
    assert_raises(StackAuth::InvalidArgument) { StackAuth::StaticTokenStrategy.new(nil) }
    assert_raises(StackAuth::InvalidArgument) { StackAuth::StaticTokenStrategy.new(42) }
  end

  def test_try_get_token_never_waits
    strategy = access_key_strategy
    assert_nil strategy.try_get_token, "nothing cached yet: would block"
    token = strategy.get_token
    assert_same_secret token.token, strategy.try_get_token.token
    assert_equal 1, authorise_count
  end

  def test_get_token_async_calls_the_block_once
    strategy = access_key_strategy
    results = Thread::Queue.new
    assert_nil(strategy.get_token_async { |tok, err| results << [tok, err, Thread.current] })
    tok, err, thread = within(10, "get_token_async") { results.pop }
    assert_nil err
    assert_match(/\ACS\|CSAK/, tok.subject)
    refute_equal Thread.main, thread, "the block runs on a callback thread"
    assert_raises(StackAuth::InvalidArgument) { strategy.get_token_async }
  end

  def test_get_token_async_reports_errors_to_the_block
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn,
                                                        access_key: "CSAKAAAAAAAAAAAAAAAA.nope", base_url: emu.url))
    results = Thread::Queue.new
    strategy.get_token_async { |tok, err| results << [tok, err] }
    tok, err = within(10, "get_token_async") { results.pop }
    assert_nil tok
    assert_kind_of StackAuth::ServerError, err
    assert_includes err.message, "401"
  end

  def test_get_token_async_block_exception_is_reported_not_fatal
    strategy = access_key_strategy
    done = Thread::Queue.new
    _out, err = capture_io do
      strategy.get_token_async do |_tok, _err|
        done << true
        raise ArgumentError, "async block failed"
      end
      within(10, "get_token_async") { done.pop }
      # The warning is written after the block raised; wait for the callback registry entry
      # to be gone (it is removed before the block runs) and for the warning itself.
      deadline = monotonic + 5
      sleep 0.01 until $stderr.string.include?("async block failed") || monotonic > deadline
    end
    assert_includes err, "ArgumentError: async block failed"
    assert strategy.get_token.token, "the strategy still works"
  end

  def test_invalidate_forces_one_refresh_only_for_the_current_token
    strategy = access_key_strategy
    old = strategy.get_token
    assert_equal true, strategy.invalidate(old)
    fresh = strategy.get_token
    assert_equal 2, authorise_count
    refute_same_secret old.token, fresh.token
    assert_equal false, strategy.invalidate(old), "a late 401 for an older token changes nothing"
    assert_same_secret fresh.token, strategy.get_token.token
    assert_equal 2, authorise_count
    assert_raises(StackAuth::InvalidArgument) { strategy.invalidate(fresh.token) }
    assert_raises(StackAuth::InvalidArgument) { strategy.invalidate(nil) }
  end

  def test_store_option_shares_the_token_between_strategies
    store = closing(StackAuth::InMemoryTokenStore.new)
    a = access_key_strategy(store: store)
    b = access_key_strategy(store: store)
    assert_same_secret a.get_token.token, b.get_token.token
    assert_equal 1, authorise_count
    assert_raises(StackAuth::InvalidArgument) { access_key_strategy(store: "memory:") }
  end

  def test_string_arguments_are_checked
    assert_raises(StackAuth::InvalidArgument) do
      StackAuth::AccessKeyStrategy.new(workspace_crn: 1, access_key: emu.access_key)
    end
    error = assert_raises(StackAuth::InvalidArgument) do
      StackAuth::AccessKeyStrategy.new(workspace_crn: nil, access_key: emu.access_key)
    end
    assert_includes error.message, "workspace_crn"
    error = assert_raises(StackAuth::InvalidArgument) do
      StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: "CSAK\xff.x".b)
    end
    assert_equal StackAuth::Native::E_INVALID_ARG, error.status
    assert_raises(ArgumentError) { StackAuth::AccessKeyStrategy.new(access_key: emu.access_key) }
  end
end
