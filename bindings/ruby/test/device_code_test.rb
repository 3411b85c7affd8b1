# frozen_string_literal: true

require_relative "test_helper"

# The device-code login end to end, then the saved session: DeviceSessionStrategy,
# AutoStrategy's fallback to it, and bind_client_device.
class DeviceCodeTest < StackAuthTest
  # An emulator that approves every device code as soon as it is issued.
  def auto
    Emulators[:auto, "--auto-approve", "--poll-interval", "0s"]
  end

  def setup
    super
    auto.reset!
    auto.config(autoApprove: true, deviceCodeTtlSecs: 900)
  end

  def login(profile_dir = @tmp)
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: profile_dir))
    [flow, flow.poll_for_token(timeout: 10)]
  end

  def test_device_code_flow_end_to_end
    flow = closing(StackAuth.begin_device_code_flow(auto.region, client_id: "cli", base_url: auto.url,
                                                   profile_dir: @tmp))
    assert_match(/\A[A-Z]{4}-[A-Z]{4}\z/, flow.user_code)
    assert_equal "#{auto.url}device", flow.verification_uri
    assert_includes flow.verification_uri_complete, flow.user_code
    assert_equal 900, flow.expires_in
    assert_includes flow.inspect, flow.user_code

    token = flow.poll_for_token(timeout: 10)
    assert_kind_of StackAuth::ServiceToken, token
    assert_equal "CS|emulator|developer", token.subject
    assert_equal auto.workspace_id, token.workspace_id
    assert_jwt(token.token)
    refute_secret(token.token, token.inspect, token.to_s)
    assert_raises(StackAuth::InvalidArgument, "a token without a handle cannot be invalidated") do
      closing(StackAuth::StaticTokenStrategy.new("a.b.c")).invalidate(token)
    end

    error = assert_raises(StackAuth::AlreadyConsumed) { flow.poll_for_token(timeout: 1) }
    assert_equal "ALREADY_CONSUMED", error.code

    # The session is in the profile directory.
    assert_equal auto.workspace_id, File.read(File.join(@tmp, "current_workspace")).strip
    assert File.exist?(File.join(@tmp, "workspaces", auto.workspace_id, "auth.json"))
    assert_equal(%w[/oauth/device/code /oauth/device/token], auto.requests.map { |r| r["path"] })
  end

  def test_device_session_strategy_from_profile_uses_the_saved_session
    _flow, login_token = login
    auto.clear_requests
    strategy = closing(StackAuth::DeviceSessionStrategy.from_profile(profile_dir: @tmp, base_url: auto.url))
    token = strategy.get_token
    assert_same_secret login_token.token, token.token
    assert_equal "CS|emulator|developer", token.subject
    assert_equal [], auto.requests, "the saved token is fresh: no request"

    # invalidate forces a refresh with the refresh token.
    assert strategy.invalidate(token)
    refreshed = strategy.get_token
    refute_same_secret token.token, refreshed.token
    assert_equal(["/oauth/token"], auto.requests.map { |r| r["path"] })

    alias_strategy = closing(StackAuth::OAuthStrategy.from_profile(profile_dir: @tmp, base_url: auto.url))
    assert_equal "CS|emulator|developer", alias_strategy.get_token.subject
  end

  def test_refresh_refusals_are_typed
    login
    strategy = closing(StackAuth::DeviceSessionStrategy.from_profile(profile_dir: @tmp, base_url: auto.url))
    assert strategy.invalidate(strategy.get_token)
    auto.fault(path: "/oauth/token", status: 400, body: '{"error":"invalid_grant","error_description":"revoked"}')
    error = assert_raises(StackAuth::InvalidGrant) { strategy.get_token }
    assert_equal "INVALID_GRANT", error.code

    auto.fault(path: "/oauth/token", status: 400, body: '{"error":"invalid_client","error_description":"no"}')
    other = closing(StackAuth::DeviceSessionStrategy.from_profile(profile_dir: @tmp, base_url: auto.url))
    assert other.invalidate(other.get_token)
    assert_raises(StackAuth::InvalidClient) { other.get_token }
  end

  def test_auto_strategy_falls_back_to_the_device_session
    login
    ENV["CS_CTS_HOST"] = auto.url
    ENV["CS_CONFIG_PATH"] = @tmp # set after the library loaded (docs/c-abi.md P27)
    strategy = closing(StackAuth::AutoStrategy.detect)
    assert_equal "CS|emulator|developer", strategy.get_token.subject
    ENV.delete("CS_CONFIG_PATH")
    strategy = closing(StackAuth::AutoStrategy.detect(profile_dir: @tmp))
    assert_equal "CS|emulator|developer", strategy.get_token.subject
  end

  def test_bind_client_device_saves_the_client_key
    login
    assert_equal true, StackAuth.bind_client_device(profile_dir: @tmp)
    secret = File.join(@tmp, "workspaces", auto.workspace_id, "secretkey.json")
    assert File.exist?(secret)
    assert_equal %w[client_id client_key], JSON.parse(File.read(secret)).keys.sort
    assert_equal 1, auto.requests("/zerokms/create-client").size
    assert_equal true, StackAuth.bind_client_device(profile_dir: @tmp, timeout: 5)
    assert_equal 1, auto.requests("/zerokms/create-client").size, "already bound: no second request"
    assert_raises(StackAuth::Error) { StackAuth.bind_client_device(profile_dir: File.join(@tmp, "empty")) }
  end

  def test_approval_by_the_user
    auto.config(autoApprove: false)
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp))
    assert_equal "approved", auto.approve(flow.user_code)["status"]
    assert_equal "CS|emulator|developer", flow.poll_for_token(timeout: 10).subject
  end

  def test_denial_is_access_denied
    auto.config(autoApprove: false)
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp))
    auto.control("POST", "deny", { userCode: flow.user_code })
    error = assert_raises(StackAuth::AccessDenied) { flow.poll_for_token(timeout: 10) }
    assert_equal "ACCESS_DENIED", error.code
  end

  def test_poll_timeout_and_expiry
    auto.config(autoApprove: false, deviceCodeTtlSecs: 1)
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp))
    assert_equal 1, flow.expires_in
    started = monotonic
    assert_raises(StackAuth::Timeout) { flow.poll_for_token(timeout: 0.3) }
    assert_operator monotonic - started, :<, 2

    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp))
    error = within(20, "polling an expiring code") { assert_raises(StackAuth::TokenExpired) { flow.poll_for_token } }
    assert_equal "EXPIRED_TOKEN", error.code
  end

  def test_close_while_polling_cancels
    auto.config(autoApprove: false)
    flow = StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp)
    poller = Thread.new do
      flow.poll_for_token(timeout: 30)
    rescue StackAuth::Error => e
      e
    end
    # The first poll is immediate and answered "pending"; then the poller waits for the next.
    within(5, "the first poll") { sleep 0.01 until auto.requests("/oauth/device/token").any? }
    flow.close
    error = within(5, "the cancelled poll") { poller.value }
    assert_kind_of StackAuth::Cancelled, error
    assert flow.closed?
    assert_raises(StackAuth::InvalidHandle) { flow.open_in_browser }
  end

  def test_open_in_browser_reports_a_boolean
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp))
    assert_includes [true, false], flow.open_in_browser
  end

  def test_transport_carries_the_device_flow_sessions_and_bind
    require "net/http"
    seen = []
    transport = lambda do |r|
      uri = URI(r.url)
      seen << uri.path
      req = Net::HTTPGenericRequest.new(r.method_name, true, true, uri.request_uri, r.headers.to_h)
      req.body = r.body
      res = Net::HTTP.start(uri.host, uri.port) { |http| http.request(req) }
      StackAuth::HttpResponse.new(status: res.code.to_i, headers: res.each_header.to_a, body: res.body.to_s)
    end
    logged = -> { auto.requests.map { |r| r["path"] } }
    # A workspace of its own: this device's client is not yet bound there (the emulator is shared).
    workspace_id = auto.new_workspace.fetch("workspaceId")
    # The saved access token has expired: the next get_token refreshes.
    expire = lambda do
      auth = File.join(@tmp, "workspaces", workspace_id, "auth.json")
      File.write(auth, JSON.generate(JSON.parse(File.read(auth)).merge("expires_at" => Time.now.to_i - 60)))
    end

    auto.config(autoApprove: false)
    flow = closing(StackAuth.begin_device_code_flow(auto.region, base_url: auto.url, profile_dir: @tmp,
                                                   transport: transport))
    auto.control("POST", "approve", { userCode: flow.user_code, workspaceId: workspace_id })
    flow.poll_for_token(timeout: 10)
    assert_equal %w[/oauth/device/code /oauth/device/token], seen
    assert_equal seen, logged.call

    seen.clear
    auto.clear_requests
    expire.call
    StackAuth::DeviceSessionStrategy.from_profile(profile_dir: @tmp, base_url: auto.url, transport: transport) do |s|
      assert_equal "CS|emulator|developer", s.get_token.subject
    end
    expire.call
    StackAuth::AutoStrategy.detect(profile_dir: @tmp, base_url: auto.url, transport: transport) do |s|
      assert_equal "CS|emulator|developer", s.get_token.subject
    end
    assert_equal %w[/oauth/token /oauth/token], seen, "both sessions refreshed through the transport"
    assert_equal seen, logged.call

    seen.clear
    auto.clear_requests
    assert StackAuth.bind_client_device(profile_dir: @tmp, transport: transport)
    assert_equal ["/zerokms/create-client"], seen
    assert File.exist?(File.join(@tmp, "workspaces", workspace_id, "secretkey.json"))
    assert_equal seen, logged.call
  end
end
