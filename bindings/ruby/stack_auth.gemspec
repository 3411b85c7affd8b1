# frozen_string_literal: true

require_relative "lib/stack_auth/version"

# The gem carries the library (lib/stack_auth/libstack_auth.so.1, libstack_auth.1.dylib or
# stack_auth.dll: build.sh copies the host's, build/dist/targets.sh each target's). The release
# gems depend on the stack_auth-cli gem of their platform (STACK_AUTH_GEM_CLI: its version), whose
# binary exe/stack-auth runs. With a library it is a platform gem: the
# machine's, or STACK_AUTH_GEM_PLATFORM's (build/dist/targets.sh); without one it is a plain
# "ruby" gem that needs STACK_AUTH_LIB (or the library on the loader's path).
NATIVE = %w[libstack_auth.so.1 libstack_auth.1.dylib stack_auth.dll].freeze

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
  spec.add_dependency "stack_auth-cli", "= #{ENV['STACK_AUTH_GEM_CLI']}" if ENV["STACK_AUTH_GEM_CLI"]

  base = __dir__
  spec.files = Dir.chdir(base) do
    Dir["lib/**/*.rb"] + Dir["sig/**/*.rbs"] + NATIVE.flat_map { |f| Dir["lib/stack_auth/#{f}"] } +
      Dir["LICENSE"] + %w[README.md stack_auth.gemspec exe/stack-auth]
  end
  spec.require_paths = ["lib"]
  spec.bindir = "exe"
  spec.executables = ["stack-auth"]
  if NATIVE.any? { |f| File.exist?(File.join(base, "lib/stack_auth", f)) }
    spec.platform = ENV.fetch("STACK_AUTH_GEM_PLATFORM", Gem::Platform.local.to_s)
  end
  spec.metadata["rubygems_mfa_required"] = "true"
end
