# PytmDeps: find a library through pkg-config, or stop with a message that
# names the Debian package to install (a bare "package 'liblz4' not found"
# from deep inside a pip build tells a newcomer nothing).
#
# pytm_require(<target> MODULE <pkg-config module> DEB <Debian -dev package>
#              WHAT <what pytm uses it for>)
#   Defines the imported target PytmDep::<target>. With PYTM_STATIC_DEPS
#   (ON for wheels, pyproject.toml) the target names the library's static
#   archives (lib<name>.a of every library pkg-config --static lists), so
#   that the wheel's extension and pytmtop need neither the -dev package
#   nor the shared library where they are installed; only libc and friends
#   stay dynamic.
option(PYTM_STATIC_DEPS "Link liblz4 and ncursesw statically (wheels)" OFF)

set(PYTM_DEB_HINT "apt-get install")

if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR
    "pytm: pkg-config was not found; it locates liblz4 and ncursesw.\n"
    "On Debian/Ubuntu: sudo ${PYTM_DEB_HINT} pkg-config liblz4-dev libncurses-dev\n"
    "(or run bash .ci/install-deps, which installs everything pytm needs)")
endif()

function(pytm_require target)
  cmake_parse_arguments(D "" "MODULE;DEB;WHAT" "" ${ARGN})
  if(TARGET PytmDep::${target})
    return()
  endif()
  pkg_check_modules(PYTMDEP_${target} QUIET ${D_MODULE})
  if(NOT PYTMDEP_${target}_FOUND)
    message(FATAL_ERROR
      "pytm: ${D_MODULE} (${D_WHAT}) was not found by pkg-config.\n"
      "On Debian/Ubuntu: sudo ${PYTM_DEB_HINT} ${D_DEB}\n"
      "(or run bash .ci/install-deps, which installs everything pytm needs)")
  endif()
  add_library(PytmDep::${target} INTERFACE IMPORTED GLOBAL)
  target_include_directories(PytmDep::${target} INTERFACE
                             ${PYTMDEP_${target}_INCLUDE_DIRS})
  target_compile_options(PytmDep::${target} INTERFACE
                         ${PYTMDEP_${target}_CFLAGS_OTHER})
  if(NOT PYTM_STATIC_DEPS)
    target_link_libraries(PytmDep::${target} INTERFACE
                          ${PYTMDEP_${target}_LINK_LIBRARIES})
    return()
  endif()
  # Static: every library of `pkg-config --static --libs`, as an archive
  # where one exists (libdl, libm... are part of the C library).
  set(libs)
  foreach(name ${PYTMDEP_${target}_STATIC_LIBRARIES})
    if(name MATCHES "^(dl|m|pthread|rt|c)$")
      list(APPEND libs ${name}) # the C library's: stays dynamic
      continue()
    endif()
    find_library(PYTMDEP_A_${name} NAMES lib${name}.a
                 HINTS ${PYTMDEP_${target}_STATIC_LIBRARY_DIRS}
                       ${PYTMDEP_${target}_LIBRARY_DIRS})
    if(PYTMDEP_A_${name})
      list(APPEND libs ${PYTMDEP_A_${name}})
    else()
      message(FATAL_ERROR
        "pytm: PYTM_STATIC_DEPS needs lib${name}.a (for ${D_MODULE}); "
        "it comes with ${D_DEB}: sudo ${PYTM_DEB_HINT} ${D_DEB}")
    endif()
  endforeach()
  target_link_libraries(PytmDep::${target} INTERFACE ${libs})
  message(STATUS "pytm: ${D_MODULE} linked statically: ${libs}")
endfunction()
