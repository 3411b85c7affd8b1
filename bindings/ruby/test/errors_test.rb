# frozen_string_literal: true

require_relative "test_helper"

# Every error the emulator can provoke reaches Ruby as its own StackAuth::Error subclass with
# code, help, url and payload.
class ErrorsTest < StackAuthTest
  def get_token_error(klass, **fault)
    emu.fault(path: "/api/authorise", **fault) unless fault.empty?
    strategy = access_key_strategy
    error = assert_raises(klass) { strategy.get_token(timeout: 10) }
    assert_kind_of StackAuth::Error, error
    assert_kind_of StandardError, error
    refute_secret(emu.access_key, error.message, error.inspect, error.to_h.to_s)
    error
  end

  # What AccessKeyStrategy.new raises for the argument in args it refuses (the others are
  # emu's): a klass carrying code.
  def access_key_strategy_error(klass, code, **args)
    error = assert_raises(klass) do
      StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                       base_url: emu.url, **args)
    end
    assert_equal code, error.code
    error
  end

  def test_hierarchy
    StackAuth::AUTH_ERROR_CODES.each do |code, name|
      klass = StackAuth.const_get(name)
      assert_operator klass, :<, StackAuth::Error
      assert_equal code, klass.new("m").code
      assert_equal klass, StackAuth::Errors.build(StackAuth::Native::E_AUTH, { "type" => code }).class
    end
    %i[Cancelled Forked CallbackError InvalidArgument InvalidHandle LibraryError].each do |name|
      assert_operator StackAuth.const_get(name), :<, StackAuth::Error
    end
    # Timeout is a ::Timeout::Error, and a StackAuth::Error for rescue and is_a?.
    assert_operator StackAuth::Timeout, :<, ::Timeout::Error
    timeout = StackAuth::Timeout.new("m")
    assert timeout.is_a?(StackAuth::Error)
    assert_equal "TIMEOUT", timeout.code
    assert_equal timeout, (begin; raise timeout; rescue StackAuth::Error => e; e; end)
    assert_equal timeout, (begin; raise timeout; rescue ::Timeout::Error => e; e; end)
    refute StackAuth::Error === RuntimeError.new("x") # rubocop:disable Style/CaseEquality -- rescue matches with ===
    assert_operator StackAuth::Error, :<, StandardError
    assert_equal StackAuth::DeviceSessionStrategy, StackAuth::OAuthStrategy
    unknown = StackAuth::Errors.build(StackAuth::Native::E_AUTH, { "type" => "SOMETHING_NEW", "message" => "m" })
    assert_equal StackAuth::Error, unknown.class
    assert_equal "SOMETHING_NEW", unknown.code
    {
      StackAuth::Native::E_INVALID_ARG => StackAuth::InvalidArgument,
      StackAuth::Native::E_INVALID_HANDLE => StackAuth::InvalidHandle,
      StackAuth::Native::E_TIMEOUT => StackAuth::Timeout,
      StackAuth::Native::E_CANCELLED => StackAuth::Cancelled,
      StackAuth::Native::E_FORKED => StackAuth::Forked,
      StackAuth::Native::E_CALLBACK => StackAuth::CallbackError,
      StackAuth::Native::E_INTERNAL => StackAuth::InternalError,
    }.each do |status, klass|
      assert_equal klass, StackAuth::Errors.from_json(status, '{"type":"X","message":"m"}').class
    end
    assert_equal StackAuth::InternalError, StackAuth::Errors.from_json(-1, "not json").class
  end

  def test_401_is_a_server_error
    error = get_token_error(StackAuth::ServerError, status: 401)
    assert_equal "SERVER_ERROR", error.code
    assert_match(/\AServer error: the token service refused the access key \(HTTP 401\)/, error.message)
    assert_equal StackAuth::Native::E_AUTH, error.status
  end

  def test_unknown_access_key_is_refused_with_401
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn,
                                                        access_key: "CSAKAAAAAAAAAAAAAAAA.secretpart", base_url: emu.url))
    error = assert_raises(StackAuth::ServerError) { strategy.get_token }
    assert_includes error.message, "401"
    refute_includes error.message, "secretpart"
  end

  def test_402_with_usage_limit_code
    error = get_token_error(StackAuth::UsageLimitExceeded, status: 402)
    assert_equal "USAGE_LIMIT_EXCEEDED", error.code
    assert_match(/usage limit/, error.message)
    assert_match(/dashboard/, error.help)
    assert_equal "https://dashboard.cipherstash.com/billing", error.url
  end

  def test_402_without_cs_code_is_still_a_usage_limit
    error = get_token_error(StackAuth::UsageLimitExceeded, status: 402,
                                                           body: '{"error":"access_denied","error_description":"pay up"}')
    assert_equal "pay up", error.message
    assert_equal "https://dashboard.cipherstash.com/billing", error.url
  end

  def test_402_org_not_provisioned_from_the_usage_limit_api
    emu.usage_limit("ORG_NOT_PROVISIONED")
    error = get_token_error(StackAuth::OrgNotProvisioned)
    assert_equal "ORG_NOT_PROVISIONED", error.code
    assert_equal "https://cipherstash.com/support", error.url
    assert_match(/support/, error.help)
  ensure
    emu.usage_limit("")
  end

  def test_a_usage_limit_refusal_is_remembered
    emu.usage_limit("USAGE_LIMIT_EXCEEDED")
    strategy = access_key_strategy
    3.times { assert_raises(StackAuth::UsageLimitExceeded) { strategy.get_token } }
    assert_equal 1, authorise_count, "a settled refusal is not asked again at once"
  ensure
    emu.usage_limit("")
  end

  def test_500_is_a_server_error
    error = get_token_error(StackAuth::ServerError, status: 500)
    assert_match(/\AServer error: 500/, error.message)
    assert_nil error.help
    assert_equal({}, error.payload)
  end

  def test_a_connection_reset_is_a_request_error
    error = get_token_error(StackAuth::RequestError, reset: true)
    assert_equal "REQUEST_ERROR", error.code
  end

  def test_a_token_that_is_not_a_jwt_is_an_invalid_token
    error = get_token_error(StackAuth::InvalidToken, status: 200, body: '{"accessToken":"garbage","expiry":9999999999}')
    assert_equal "INVALID_TOKEN", error.code
  end

  def test_workspace_mismatch_carries_expected_and_actual
    other = emu.new_workspace
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn,
                                                        access_key: other["accessKey"], base_url: emu.url))
    error = assert_raises(StackAuth::WorkspaceMismatch) { strategy.get_token }
    assert_equal "WORKSPACE_MISMATCH", error.code
    assert_equal emu.workspace_id, error.expected
    assert_equal other["workspaceId"], error.actual
    assert_equal({ "expected" => emu.workspace_id, "actual" => other["workspaceId"] }, error.payload)
    assert_match(/different workspace/, error.help)
    refute_secret(other["accessKey"], error.message, error.to_h.to_s)
  end

  def test_invalid_access_key_format
    error = access_key_strategy_error(StackAuth::InvalidAccessKey, "INVALID_ACCESS_KEY", access_key: "not-a-key")
    assert_match(/CSAK/, error.help)
  end

  def test_invalid_crn
    error = access_key_strategy_error(StackAuth::InvalidCrn, "INVALID_CRN", workspace_crn: "not-a-crn")
    assert_match(/crn:<region>:<workspace-id>/, error.help)
    assert_equal StackAuth::Native::E_AUTH, error.status
  end

  def test_missing_workspace_crn
    ENV["CS_CONFIG_PATH"] = @tmp
    error = assert_raises(StackAuth::MissingWorkspaceCrn) do
      StackAuth::AutoStrategy.detect(access_key: emu.access_key, base_url: emu.url)
    end
    assert_equal "MISSING_WORKSPACE_CRN", error.code
    assert_match(/CS_WORKSPACE_CRN/, error.help)
  end

  def test_invalid_url
    access_key_strategy_error(StackAuth::InvalidUrl, "INVALID_URL", base_url: "nope")
    assert_raises(StackAuth::InvalidUrl) { StackAuth.open_store("bogus:") }
  end

  def test_invalid_region
    error = assert_raises(StackAuth::InvalidRegion) do
      StackAuth.begin_device_code_flow("mars-1.aws", base_url: emu.url, profile_dir: @tmp)
    end
    assert_equal "INVALID_REGION", error.code
  end

  def test_store_error_for_an_empty_profile
    error = assert_raises(StackAuth::StoreError) do
      StackAuth::DeviceSessionStrategy.from_profile(profile_dir: @tmp, base_url: emu.url).get_token
    end
    assert_equal "STORE_ERROR", error.code
  end

  def test_timeout_from_a_delay_fault
    strategy = slow_access_key_strategy(3000)
    started = monotonic
    error = assert_raises(StackAuth::Timeout) { strategy.get_token(timeout: 0.3) }
    elapsed = monotonic - started
    assert_equal "TIMEOUT", error.code
    assert_equal StackAuth::Native::E_TIMEOUT, error.status
    assert_operator elapsed, :>=, 0.29
    assert_operator elapsed, :<, 2.0
  end

  def test_strategy_timeout_option_is_the_default_timeout
    strategy = slow_access_key_strategy(3000, timeout: 0.3)
    started = monotonic
    assert_raises(StackAuth::Timeout) { strategy.get_token }
    assert_operator monotonic - started, :<, 2.0
  end

  def test_close_while_waiting_cancels
    entered = Thread::Queue.new
    release = Thread::Queue.new
    # A store whose load never answers keeps the strategy waiting inside the library.
    store = closing(StackAuth::TokenStoreFn.new(load: -> { entered << true; release.pop }, save: nil, timeout: 30))
    strategy = StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                base_url: emu.url, store: store)
    waiting = Thread.new do
      strategy.get_token(timeout: 10)
    rescue StackAuth::Error => e
      e
    end
    within(5, "the hook to be called") { entered.pop } # the caller is inside the library
    strategy.close
    error = within(5, "the cancelled get_token") { waiting.value }
    assert_kind_of StackAuth::Cancelled, error
    assert_equal "CANCELLED", error.code
  ensure
    release&.push("late.token.value")
  end

  def test_errors_are_per_thread_and_never_stale
    errors = 8.times.map do |i|
      Thread.new do
        crn = "bad-crn-#{i}"
        e = assert_raises(StackAuth::InvalidCrn) do
          StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: emu.access_key)
        end
        [crn, e.message]
      end
    end.map(&:value)
    errors.each { |crn, message| assert_includes message, crn }
  end
end
