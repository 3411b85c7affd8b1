# frozen_string_literal: true

require "net/http"
require "stack_auth"

# A host HTTP transport over Net::HTTP, as a user would write one: it sends each
# StackAuth::HttpRequest as it is and answers with what the server said. Used by dropin_test.rb
# and by rbs_usage.rb (which runs in a process of its own, without test_helper.rb).
NET_HTTP_TRANSPORT = lambda do |r|
  uri = URI(r.url)
  req = Net::HTTPGenericRequest.new(r.method_name, true, true, uri.request_uri, r.headers.to_h)
  req.body = r.body
  res = Net::HTTP.start(uri.host, uri.port) { |http| http.request(req) }
  StackAuth::HttpResponse.new(status: res.code.to_i, headers: res.each_header.to_a, body: res.body)
end
