# frozen_string_literal: true

# The public API used as documented, run by dropin_test.rb under RBS's runtime type checker
# (rbs/test/setup): every call into StackAuth and every value it returns is checked against
# sig/stack_auth.rbs, and a mismatch raises. Needs SA_URL, SA_CRN and SA_KEY (an emulator).
require "json"
require "stack_auth"
require_relative "net_http_transport"

url, crn, key = ENV.fetch("SA_URL"), ENV.fetch("SA_CRN"), ENV.fetch("SA_KEY")
StackAuth.library_version
StackAuth.build_info

store = StackAuth::InMemoryTokenStore.new
saved = nil
fn_store = StackAuth::TokenStoreFn.new(load: -> { saved }, save: ->(json) { saved = json }, timeout: 5)
StackAuth::AccessKeyStrategy.open(workspace_crn: crn, access_key: key, store: store, base_url: url, timeout: 10) do |s|
  t = s.get_token(timeout: 5)
  [t.token, t.subject, t.workspace_id, t.issuer, t.services, t.expires_at, t.to_h, t.as_json, t.to_json, t.to_s, t.inspect]
  s.try_get_token
  q = Thread::Queue.new
  s.get_token_async { |tok, err| q << [tok, err] }
  q.pop
  s.invalidate(t)
  s.inspect
end
forward = NET_HTTP_TRANSPORT
StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url, transport: forward).get_token
require "tmpdir"
Dir.mktmpdir do |dir|
  StackAuth.begin_device_code_flow(crn.split(":")[1], base_url: url, profile_dir: dir, transport: forward).close
end
s = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, store: fn_store, base_url: url)
s.get_token
s.close
s.closed?
ENV["CS_CLIENT_ACCESS_KEY"], ENV["CS_WORKSPACE_CRN"], ENV["CS_CTS_HOST"] = key, crn, url
StackAuth::AutoStrategy.detect(store: StackAuth.open_store("memory:")) { |a| a.get_token }
StackAuth::StaticTokenStrategy.new("a.b.c").get_token
StackAuth::AuthStrategyFn.new(timeout: 5) { "x.y.z" }.get_token
StackAuth::AuthStrategyFn.new(-> { "x.y.z" }).get_token
jwt = "eyJhbGciOiJub25lIn0.#{[JSON.generate(sub: 'rbs', iss: 'https://ci.example')].pack('m0').tr('+/', '-_').delete('=')}.c2ln"
StackAuth::OidcFederationStrategy.new(workspace_crn: crn, base_url: url, cache_capacity: 8) { jwt }.get_token
StackAuth::OidcFederationStrategy.new(workspace_crn: crn, provider: -> { jwt }, base_url: url, store: store).get_token
begin
  StackAuth::AccessKeyStrategy.new(workspace_crn: "crn:nowhere", access_key: key)
rescue StackAuth::Error => e
  [e.code, e.help, e.url, e.payload, e.status, e.to_h]
end
store.close
store.closed?

# The checker is really on: a call that breaks a signature is caught.
begin
  StackAuth::StaticTokenStrategy.new(42)
rescue RBS::Test::Tester::TypeError
  puts "rbs: every call matched sig/stack_auth.rbs; the checker catches a mismatch"
end
