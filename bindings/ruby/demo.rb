# frozen_string_literal: true

# Gets a token with AutoStrategy from CS_CLIENT_ACCESS_KEY, CS_WORKSPACE_CRN and CS_CTS_HOST
# (or a saved login) and prints who it is for; never the token itself.
#   ruby bindings/ruby/demo.rb
$LOAD_PATH.unshift(File.expand_path("lib", __dir__))
require "stack_auth"

begin
  StackAuth::AutoStrategy.detect do |strategy|
    token = strategy.get_token(timeout: 10)
    puts "  Ruby token: subject #{token.subject}, workspace #{token.workspace_id}"
  end
rescue StackAuth::Error => e
  warn "  Ruby: #{e.class.name.split('::').last} (#{e.code}): #{e.message}"
  warn "  #{e.help}" if e.help
  exit 1
end
