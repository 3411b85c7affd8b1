# frozen_string_literal: true

require_relative "test_helper"

# Where upstream 0.43 is right (issue 13) and echoed secrets (issue 12 item 9), from Ruby:
# errors say whether retrying may help, an OIDC provider's empty JWT is sent like any other,
# and no secret a server echoes reaches an error.
class UpstreamTest < StackAuthTest
  JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyYi1lY2hvIn0.UkItRUNITw"

  def test_errors_say_whether_retrying_may_help
    emu.fault(path: "/api/authorise", status: 503, count: 1)
    error = assert_raises(StackAuth::ServerError) { access_key_strategy.get_token(timeout: 10) }
    assert_equal true, error.retryable?
    refute error.payload.key?("retryable")

    emu.clear_requests
    bad = assert_raises(StackAuth::InvalidCrn) do
      StackAuth::AccessKeyStrategy.new(workspace_crn: "crn:ap-northeast-1.aws:#{emu.workspace_id}",
                                       access_key: emu.access_key, base_url: emu.url)
    end
    assert_equal false, bad.retryable?
    assert_includes bad.help, "ca-central-1.aws"
    assert_empty emu.requests
  end

  def test_an_empty_provider_jwt_is_sent_and_the_servers_answer_raised
    emu.clear_requests
    strategy = closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) { "" })
    assert_raises(StackAuth::ServerError) { strategy.get_token(timeout: 10) }
    assert_equal 1, emu.requests("/api/authorise").size
  end

  def test_an_echoed_secret_never_reaches_an_error
    secret_part = emu.access_key.split(".", 2)[1]
    [false, true].each do |oidc|
      [[402, "access_denied"], [400, "invalid_request"], [500, "server_error"]].each do |status, code|
        secret = oidc ? JWT : emu.access_key
        emu.fault(path: "/api/authorise", status: status, count: 1,
                  body: JSON.generate({ error: code, error_description: "got #{secret}\nline two" }))
        strategy = if oidc
                     closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url) { JWT })
                   else
                     access_key_strategy
                   end
        error = assert_raises(StackAuth::Error) { strategy.get_token(timeout: 10) }
        [emu.access_key, secret_part, JWT].each do |s|
          refute_secret(s, error.message, error.inspect, error.to_h.to_s, error.full_message)
        end
        refute_match(/[\r\n]/, error.message, "one line")
        assert_includes error.message, "***", "the server's text is kept, masked"
      end
    end
  end
end
