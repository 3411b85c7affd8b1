# frozen_string_literal: true

require_relative "../lib/stack_auth/version"

# The stack-auth command's Go binary for one platform (libexec/stack-auth[.exe]), a gem of its
# own so that each gem stays within 4 MB; the platform gems of stack_auth depend on it and their
# `stack-auth` executable runs it. Built by build/dist/targets.sh, with the platform in
# STACK_AUTH_GEM_PLATFORM.
Gem::Specification.new do |spec|
  spec.name = "stack_auth-cli"
  spec.version = StackAuth::VERSION
  spec.summary = "The stack-auth command (Go binary) for one platform; installed with stack_auth"
  spec.authors = ["stack-auth contributors"]
  spec.license = "Apache-2.0"
  spec.homepage = "https://github.com/stackauth/stack-auth"
  spec.required_ruby_version = ">= 2.7"
  spec.files = Dir.chdir(__dir__) { Dir["libexec/stack-auth*"] + Dir["LICENSE"] }
  spec.platform = ENV.fetch("STACK_AUTH_GEM_PLATFORM")
  spec.metadata["rubygems_mfa_required"] = "true"
end
