# frozen_string_literal: true

require_relative "lib/stack_auth/version"

# The gem carries libstack_auth.so.1 (copied into lib/stack_auth/ by build.sh), so it is a
# platform gem for the machine that built it; without the library it is a plain "ruby" gem
# that needs STACK_AUTH_LIB (or libstack_auth.so.1 on the loader's path).
Gem::Specification.new do |spec|
  spec.name = "stack_auth"
  spec.version = StackAuth::VERSION
  spec.summary = "Short-lived CipherStash service tokens, kept fresh (libstack_auth over the ffi gem)"
  spec.description = "The Ruby binding of stack-auth: access-key, device-session, OIDC federation and " \
                     "custom strategies whose tokens are cached and refreshed by libstack_auth."
  spec.authors = ["stack-auth contributors"]
  spec.license = "Apache-2.0"
  spec.homepage = "https://github.com/stackauth/stack-auth"
  spec.required_ruby_version = ">= 2.7"
  spec.add_dependency "ffi", "~> 1.15"

  base = __dir__
  spec.files = Dir.chdir(base) do
    Dir["lib/**/*.rb"] + Dir["lib/stack_auth/libstack_auth.so.1"] + %w[README.md LICENSE stack_auth.gemspec]
  end
  spec.require_paths = ["lib"]
  spec.platform = Gem::Platform.local.to_s if File.exist?(File.join(base, "lib/stack_auth/libstack_auth.so.1"))
  spec.metadata["rubygems_mfa_required"] = "true"
end
