# frozen_string_literal: true

module StackAuth
  # A device-code login in progress (RFC 8628): show #user_code and #verification_uri to the
  # user (or #open_in_browser), then #poll_for_token until they approve. The approved session
  # is saved in the profile directory, where DeviceSessionStrategy.from_profile finds it.
  class PendingDeviceCode
    # #close abandons the flow: a #poll_for_token waiting in another thread ends with Cancelled.
    include OwnsHandle

    attr_reader :user_code, :verification_uri, :verification_uri_complete, :expires_in

    # @api private
    def initialize(handle)
      own(:device_flow, handle)
      info = JSON.parse(Native.take_string(:sa_device_flow_json, handle))
      @user_code = info["userCode"]
      @verification_uri = info["verificationUri"]
      @verification_uri_complete = info["verificationUriComplete"]
      @expires_in = info["expiresIn"]
    end

    # Opens verification_uri_complete in the system's browser; true when that worked.
    def open_in_browser
      out = FFI::MemoryPointer.new(:int32)
      status = Native.sa_device_flow_open_browser(@handle, out)
      raise Errors.last(status) unless status.zero?

      out.read_int32 == 1
    end

    # Waits (GVL released) until the user approves (returns the ServiceToken; the session is
    # saved to the profile directory), denies (AccessDenied), or the code expires
    # (TokenExpired); at most timeout seconds (nil: until the code expires). The flow is
    # consumed: a second call raises AlreadyConsumed.
    def poll_for_token(timeout: nil)
      ms = timeout.nil? ? 0 : Native.timeout_ms(timeout)
      ServiceToken.from_json(Native.take_string(:sa_device_code_poll, @handle, ms))
    end

    def inspect
      "#<StackAuth::PendingDeviceCode user_code=#{user_code.inspect} verification_uri=#{verification_uri.inspect} " \
        "expires_in=#{expires_in.inspect}#{' (closed)' if @closed}>"
    end
  end

  # Starts a device-code login for region ("ap-southeast-2.aws"). base_url overrides the
  # token service (else CS_CTS_HOST or the region's); profile_dir overrides where the session
  # is saved (else CS_CONFIG_PATH or ~/.cipherstash); transport (a callable, as on the
  # strategies) carries the flow's requests, its polls included.
  def self.begin_device_code_flow(region, client_id: "cli", base_url: nil, profile_dir: nil, timeout: nil,
                                  transport: nil)
    Args.with_transport(transport) do |tr|
      opts = Native.options_json(baseUrl: Args.str("base_url", base_url),
                                 profileDir: Args.str("profile_dir", profile_dir),
                                 timeoutMs: Args.timeout_option(timeout), transport: tr)
      handle = Native.new_handle(:sa_device_code_begin, Args.str("region", region), Args.str("client_id", client_id),
                                 opts)
      PendingDeviceCode.new(handle)
    end
  end

  # Registers this device with ZeroKMS using the session saved in the profile directory and
  # saves its client key (secretkey.json) there. Does nothing when the device is already
  # bound. Returns true. transport: as for begin_device_code_flow.
  def self.bind_client_device(profile_dir: nil, timeout: nil, transport: nil)
    Native.load!
    status = Args.with_transport(transport) do |tr|
      Native.sa_bind_client_device(Native.options_json(profileDir: Args.str("profile_dir", profile_dir),
                                                       timeoutMs: Args.timeout_option(timeout), transport: tr))
    end
    raise Errors.last(status) unless status.zero?

    true
  end
end
