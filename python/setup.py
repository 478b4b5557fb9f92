"""The extension shbuf._shbuf for pip (pyproject.toml), from shbufmodule.c,
the file CMake builds the same extension from (python/CMakeLists.txt).

Which libshbuf it is compiled against:

* the source tree this folder belongs to (the default, when ../CMakeLists.txt
  is there): CMake configures and builds the library in setuptools' build
  folder, static and position-independent, and installs it into a private
  prefix there; the extension links it in, so the installed package needs no
  libshbuf.so, and `pip uninstall shbuf` takes everything away;
* an installed libshbuf, found with pkg-config (module `shbuf`), when
  SHBUF_PYTHON_LIBRARY=pkg-config is set or there is no tree: linked
  dynamically, with an rpath to the library's folder.

The version is the project's, from `project(libshbuf VERSION ...)` in the
top CMakeLists.txt (or pkg-config's when there is no tree).

SPDX-License-Identifier: LGPL-2.1-or-later
"""

import os
import re
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
HAVE_TREE = os.path.isfile(os.path.join(TOP, "CMakeLists.txt")) and os.path.isfile(
    os.path.join(TOP, "include", "libshbuf", "shbuf.h"))


def library_source():
    choice = os.environ.get("SHBUF_PYTHON_LIBRARY", "tree" if HAVE_TREE else "pkg-config")
    if choice not in ("tree", "pkg-config"):
        sys.exit("setup.py: SHBUF_PYTHON_LIBRARY must be 'tree' or 'pkg-config', not %r" % choice)
    if choice == "tree" and not HAVE_TREE:
        sys.exit("setup.py: SHBUF_PYTHON_LIBRARY=tree, but %s is not libshbuf's source tree" % TOP)
    return choice


def run(cmd, **kw):
    print("setup.py: " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        return subprocess.run(cmd, check=True, **kw)
    except FileNotFoundError:
        sys.exit("setup.py: %s is needed to build shbuf; on Debian: apt-get install %s"
                 % (cmd[0], {"cmake": "cmake", "pkg-config": "pkg-config"}.get(cmd[0], cmd[0])))
    except subprocess.CalledProcessError as e:
        sys.exit("setup.py: %s failed (exit status %d)" % (cmd[0], e.returncode))


def pkg_config(*args, env=None):
    r = run(["pkg-config", *args, "shbuf"], stdout=subprocess.PIPE, text=True, env=env)
    return shlex.split(r.stdout)


def version():
    if library_source() == "tree":
        with open(os.path.join(TOP, "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*libshbuf\s+VERSION\s+(\d+\.\d+\.\d+)", f.read())
        if not m:
            sys.exit("setup.py: no project(libshbuf VERSION X.Y.Z) in %s/CMakeLists.txt" % TOP)
        return m.group(1)
    return pkg_config("--modversion")[0]


class BuildExt(build_ext):
    """Finds or builds libshbuf first, then compiles the extension against it."""

    def build_extensions(self):
        # setuptools keeps the extension it built last in ./build and would
        # not relink it for another library, nor see a change of the
        # library's sources: always compile anew (one file).
        self.force = True
        ext = self.extensions[0]
        if library_source() == "tree":
            self.use_tree(ext)
        else:
            self.use_installed(ext)
        super().build_extensions()

    def use_tree(self, ext):
        build = os.path.join(os.path.abspath(self.build_temp), "libshbuf")
        prefix = build + "-prefix"
        run(["cmake", "-S", TOP, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_TESTING=OFF",
             "-DCMAKE_INSTALL_PREFIX=" + prefix, "-DCMAKE_INSTALL_LIBDIR=lib"])
        # CMAKE_BUILD_PARALLEL_LEVEL in the environment sets the jobs.
        run(["cmake", "--build", build, "--target", "shbuf", "shbuf_static"])
        run(["cmake", "--install", build, "--component", "devel"])
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        self.add_flags(ext, pkg_config("--cflags", env=env),
                       pkg_config("--static", "--libs", env=env))
        # The static library, by its path (-lshbuf would take the shared one),
        # and none of its symbols exported from the extension.
        ext.libraries.remove("shbuf")
        ext.extra_objects.append(os.path.join(prefix, "lib", "libshbuf.a"))
        ext.extra_link_args.append("-Wl,--exclude-libs,ALL")

    def use_installed(self, ext):
        self.add_flags(ext, pkg_config("--cflags"), pkg_config("--libs"))
        libdir = pkg_config("--variable=libdir")[0]
        ext.runtime_library_dirs.append(libdir)

    @staticmethod
    def add_flags(ext, cflags, libs):
        for flag in cflags:
            if flag.startswith("-I"):
                ext.include_dirs.append(flag[2:])
            else:
                ext.extra_compile_args.append(flag)
        for flag in libs:
            if flag.startswith("-l"):
                ext.libraries.append(flag[2:])
            elif flag.startswith("-L"):
                ext.library_dirs.append(flag[2:])
            else:
                ext.extra_link_args.append(flag)


VERSION = version()

setup(
    version=VERSION,
    ext_modules=[
        Extension(
            "shbuf._shbuf",
            sources=["shbufmodule.c"],
            define_macros=[("SHBUF_PY_VERSION", '"%s"' % VERSION)],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
