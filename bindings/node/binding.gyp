{
  "variables": {
    "sa_out%": "<(module_root_dir)/../../build/out"
  },
  "targets": [
    {
      "target_name": "stack_auth",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<(sa_out)/include"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-rtti"],
      "libraries": ["-L<(sa_out)/lib", "-lstack_auth", "-Wl,-rpath,'$$ORIGIN'", "-Wl,--disable-new-dtags"]
    }
  ]
}
