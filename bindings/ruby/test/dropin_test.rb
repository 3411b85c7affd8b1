# frozen_string_literal: true

require_relative "test_helper"
require_relative "net_http_transport"
require "open3"
require "rbconfig"

# Drop-in completeness (issue 16 item 9): JSON of a token, the OIDC cache capacity, and RBS
# signatures that match the library.
class DropinTest < StackAuthTest
  SIG_DIR = File.expand_path("../sig", __dir__)

  def test_to_json_gives_the_claims_and_never_the_token
    token = access_key_strategy.get_token
    bearer = token.token
    data = JSON.parse(token.to_json)
    assert_equal({ "subject" => token.subject, "workspace_id" => token.workspace_id, "issuer" => token.issuer,
                   "services" => token.services, "expires_at" => token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") }, data)
    nested = JSON.generate(token: token)
    assert_equal data, JSON.parse(nested)["token"]
    refute_secret(bearer, token.to_json, nested, JSON.pretty_generate([token]))
  end

  def test_oidc_cache_capacity
    jwt = oidc_jwt("cap-user")
    closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url,
                                                  cache_capacity: 0) { jwt }).tap { |s| 2.times { s.get_token } }
    assert_equal 2, authorise_count, "capacity 0 caches nothing"
    emu.clear_requests
    closing(StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, base_url: emu.url,
                                                  cache_capacity: 4) { jwt }).tap { |s| 2.times { s.get_token } }
    assert_equal 1, authorise_count
    [-1, "8", 1.5].each do |bad|
      assert_raises(StackAuth::InvalidArgument) do
        StackAuth::OidcFederationStrategy.new(workspace_crn: emu.workspace_crn, cache_capacity: bad) { jwt }
      end
    end
  end

  # `rbs validate` checks the signatures are well-formed and name real types; then a suite
  # runs under RBS's runtime checker, which fails any call into StackAuth whose arguments or
  # result break sig/stack_auth.rbs.
  def test_rbs_signatures
    assert File.exist?(File.join(SIG_DIR, "stack_auth.rbs")), "sig/stack_auth.rbs is missing"
    rbs = Gem.bin_path("rbs", "rbs") # Ruby's bundled gem (Debian's ruby package ships it)
    out, status = Open3.capture2e(RbConfig.ruby, rbs, "-I", SIG_DIR, "validate")
    assert status.success?, "rbs validate failed:\n#{out}"

    env = { "RBS_TEST_TARGET" => "StackAuth::*", "RBS_TEST_OPT" => "-I #{SIG_DIR}", "RBS_TEST_LOGLEVEL" => "error",
            "SA_URL" => emu.url, "SA_CRN" => emu.workspace_crn, "SA_KEY" => emu.access_key }
    usage = File.expand_path("rbs_usage.rb", __dir__)
    out, status = Open3.capture2e(env, RbConfig.ruby, "-rrbs/test/setup", "-I", File.expand_path("../lib", __dir__), usage)
    refute_secret(emu.access_key, out)
    assert status.success? && out.include?("every call matched"),
           "the public API broke sig/stack_auth.rbs:\n#{out.gsub(/eyJ[\w.-]+/, '<jwt>')}"
  end
end

class DropinHelpTest < StackAuthTest
  def test_missing_crn_help_names_the_ruby_api
    error = assert_raises(StackAuth::MissingWorkspaceCrn) { StackAuth::AutoStrategy.detect(access_key: emu.access_key) }
    assert_includes error.help, "AutoStrategy.detect(workspace_crn:"
    refute_includes "#{error.message} #{error.help}", "AutoStrategyBuilder"
  end
end

class DropinTransportTest < StackAuthTest
  def test_transport_carries_every_request
    seen = []
    transport = lambda do |r|
      seen << r
      NET_HTTP_TRANSPORT.call(r)
    end
    strategy = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                        base_url: emu.url, transport: transport))
    assert_equal emu.workspace_id, strategy.get_token.workspace_id
    assert_equal 1, seen.size
    assert_equal "POST", seen[0].method_name
    assert seen[0].headers.to_h["user-agent"].start_with?("stack-auth/")
    refute_secret(emu.access_key, seen[0].inspect)
    assert_equal 1, authorise_count

    emu.clear_requests
    down = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                    base_url: emu.url, transport: ->(_r) { raise IOError, "proxy down" }))
    error = assert_raises(StackAuth::Error) { down.get_token }
    assert_equal "REQUEST_ERROR", error.code
    assert_includes error.message, "proxy down"
    page = ->(_r) { [503, { "content-type" => "text/html" }, "<html><title>503 Service Unavailable</title></html>"] }
    html = closing(StackAuth::AccessKeyStrategy.new(workspace_crn: emu.workspace_crn, access_key: emu.access_key,
                                                    base_url: emu.url, transport: page))
    error = assert_raises(StackAuth::ServerError) { html.get_token }
    assert_includes error.message, "503 Service Unavailable"
    assert_equal 0, authorise_count
  end
end
