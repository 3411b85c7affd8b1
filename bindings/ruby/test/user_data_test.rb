# frozen_string_literal: true

require_relative "test_helper"
require "rbconfig"

# Regression: include/stack_auth.h takes user_data as an opaque `void *`, and C callers
# routinely pass small integers there. The library used to keep it in a Go unsafe.Pointer,
# and the Go runtime aborted the whole process ("fatal error: invalid pointer found on
# stack") when it copied that goroutine's stack. It now carries user_data as uintptr_t.
# This test calls the C ABI directly, the way a C program would.
class UserDataTest < StackAuthTest
  def test_get_token_async_accepts_any_user_data_value
    script = <<~RUBY
      require "stack_auth"
      url, crn, key = ARGV
      n = StackAuth::Native
      n.load!
      s = StackAuth::AccessKeyStrategy.new(workspace_crn: crn, access_key: key, base_url: url)
      q = Thread::Queue.new
      done = FFI::Function.new(:void, %i[pointer int32 uint64 string]) do |ud, status, tok, _err|
        n.sa_token_free(tok)
        q << [ud.address, status]
      end
      300.times { |i| n.sa_get_token_async(s.handle, done, FFI::Pointer.new(i + 1)) }
      got = 300.times.map { q.pop }
      puts "ok \#{got.map(&:first).sort == (1..300).to_a} \#{got.map(&:last).uniq.inspect}"
    RUBY
    out_r, out_w = IO.pipe
    err_r, err_w = IO.pipe
    pid = Process.spawn(RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", script,
                        emu.url, emu.workspace_crn, emu.access_key, out: out_w, err: err_w)
    [out_w, err_w].each(&:close)
    # Read both pipes at once: a Go crash dump is larger than a pipe's buffer.
    readers = [out_r, err_r].map { |io| Thread.new { io.read } }
    waiter = Thread.new { Process.wait2(pid)[1] }
    hung = !waiter.join(10)
    Process.kill("KILL", pid) if hung
    status = waiter.value
    out, err = readers.map(&:value)
    fatal = err[/^fatal error: .*$/] || err[/\[BUG\].*$/]
    assert !hung && status.success? && out == "ok true [0]\n",
           "sa_get_token_async with user_data = (void *)1..300 #{hung ? 'hung' : 'killed'} the process: " \
           "#{fatal || status.inspect} (capi/strategy.go sago_get_token_async keeps user_data in an unsafe.Pointer)"
  ensure
    [out_r, err_r].each { |io| io&.close }
  end
end
