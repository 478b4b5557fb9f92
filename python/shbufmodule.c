/*
 * The Python module `shbuf._shbuf`: a CPython extension written on the
 * public libshbuf API only (include/libshbuf/shbuf.h). The package `shbuf`
 * (python/shbuf/) re-exports it; the asyncio methods of Buffer are written in
 * Python, in shbuf/_aio.py, and this file only hands them over.
 *
 * Both builds compile this one file: CMake (python/CMakeLists.txt) and pip
 * (python/setup.py). Each passes SHBUF_PY_VERSION, the project's version.
 *
 * Lifetime rules, and why:
 *
 * - A Buffer owns one shbuf handle. Calls that may block or copy a lot
 *   release the GIL; while they run, the Buffer is "busy" (a count), so a
 *   close() from another thread only marks the Buffer closed and the last
 *   busy thread frees the handle when it comes back. No thread ever uses a
 *   freed handle.
 *
 * - read_view() and write_view() hand out memoryviews over the shared memory
 *   itself. A plain memoryview over raw memory cannot notice that the memory
 *   went away, so the views are made from a small exporter object that counts
 *   buffer exports, and the Buffer keeps weak references to the memoryviews
 *   it handed out. close() first releases those memoryviews (any later access
 *   raises ValueError, as for any released memoryview); if memory is still
 *   exported after that (a slice of a view, or an array made from one), close()
 *   raises BufferError and leaves the buffer open, as mmap.close() does. So
 *   once close() has returned, no Python object can reach the unmapped memory.
 *
 * - A handle must not be used in the child of a fork() (the library's rule):
 *   the Buffer remembers its pid and refuses to work, or to free the handle
 *   (which would remove the parent's buffer), in another process.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libshbuf/shbuf.h>

#ifndef SHBUF_PY_VERSION
#error "SHBUF_PY_VERSION (the project version, \"X.Y.Z\") must be defined by the build"
#endif

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o) {
        Py_INCREF(o);
        return o;
}
#endif

/* Ring size used when create() is not given one. */
#define DEFAULT_SIZE (1024 * 1024)

/* Copies longer than this run without the GIL; shorter ones are not worth
 * the two lock handovers. */
#define NOGIL_COPY_MIN (64 * 1024)

typedef struct {
        PyObject ob_base;
        shbuf *sb; /* NULL once freed */
        key_t key;
        unsigned long size;
        PyObject *backend; /* str */
        int is_provider;
        int closed;            /* no new call may start; sb may still be in use by busy threads */
        int notify_on;         /* shbuf_notify_enable(sb, 1) was done (by fileno()) */
        pid_t pid;             /* process that made the handle */
        Py_ssize_t busy;       /* threads inside a call that released the GIL */
        Py_ssize_t exports;    /* live buffer exports of views */
        PyObject *views;       /* list of weak references to the memoryviews handed out */
        Py_ssize_t views_live; /* live entries at the last pruning of views */
} BufferObject;

/* The object a view's memoryview is made from: one region of a Buffer. */
typedef struct {
        PyObject ob_base;
        BufferObject *owner;
        unsigned char *ptr;
        Py_ssize_t len;
        int readonly;
} ExporterObject;

static PyTypeObject Buffer_Type;
static PyTypeObject Exporter_Type;

/* ---- errors ------------------------------------------------------------- */

/*
 * Raise the OSError subclass that matches err (OSError's constructor picks
 * FileNotFoundError, BrokenPipeError, ... from the number), with a message
 * naming the operation and the key, and the key as the exception's `key`
 * attribute. Returns NULL for convenient `return set_error(...)`.
 */
static PyObject *set_error(int err, const char *what, key_t key, int have_key) {
        char msg[256];
        if (have_key)
                PyOS_snprintf(msg, sizeof(msg), "%s: %s shbuf key %ld (0x%08lx)", strerror(err), what,
                              (long) key, (unsigned long) (unsigned int) key);
        else
                PyOS_snprintf(msg, sizeof(msg), "%s: %s shbuf with an automatic key", strerror(err), what);
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", err, msg);
        if (!exc)
                return NULL;
        PyObject *k = have_key ? PyLong_FromLong((long) key) : Py_NewRef(Py_None);
        if (!k || PyObject_SetAttrString(exc, "key", k) < 0) {
                Py_XDECREF(k);
                Py_DECREF(exc);
                return NULL;
        }
        Py_DECREF(k);
        PyErr_SetObject((PyObject *) Py_TYPE(exc), exc);
        Py_DECREF(exc);
        return NULL;
}

static PyObject *buffer_error(BufferObject *self, int err, const char *what) {
        return set_error(err, what, self->key, 1);
}

/* ---- handle lifetime ---------------------------------------------------- */

/* With the GIL. The handle of a Buffer inherited through fork() is never
 * freed: the provider's shbuf_free() would remove the parent's buffer. */
static void free_handle(BufferObject *self, int release_gil) {
        shbuf *sb = self->sb;
        self->sb = NULL;
        if (!sb || self->pid != getpid())
                return;
        if (release_gil) {
                PyThreadState *ts = PyEval_SaveThread();
                shbuf_free(sb);
                PyEval_RestoreThread(ts);
        } else {
                shbuf_free(sb);
        }
}

/* The handle for a new call, or NULL with an exception set. */
static shbuf *get_sb(BufferObject *self) {
        if (self->closed || !self->sb) {
                PyErr_SetString(PyExc_ValueError, "operation on a closed shbuf.Buffer");
                return NULL;
        }
        if (self->pid != getpid()) {
                PyErr_SetString(
                        PyExc_RuntimeError,
                        "shbuf.Buffer inherited through fork() cannot be used; open the buffer anew");
                return NULL;
        }
        return self->sb;
}

/* Like get_sb(), and mark the Buffer busy so the handle outlives a close()
 * from another thread while this one runs without the GIL. */
static shbuf *enter(BufferObject *self) {
        shbuf *sb = get_sb(self);
        if (sb)
                self->busy++;
        return sb;
}

/*
 * End a call begun with enter(). If another thread closed the Buffer in the
 * meantime, the last busy thread frees the handle. Returns -1 with ValueError
 * set when the Buffer was closed during the call and ok is set (the caller
 * had no error of its own to report), else 0.
 */
static int leave(BufferObject *self, int ok) {
        self->busy--;
        if (!self->closed)
                return 0;
        if (self->busy == 0)
                free_handle(self, 1);
        if (ok) {
                PyErr_SetString(PyExc_ValueError,
                                "shbuf.Buffer was closed by another thread during the call");
                return -1;
        }
        return 0;
}

/* ---- weak references to the memoryviews handed out -------------------- */

/* The object ref refers to, as a new reference in *ret_obj: 1, or 0 with
 * *ret_obj NULL when it is gone, or -1 with an exception set. This is
 * PyWeakref_GetRef() of Python 3.13, which replaced PyWeakref_GetObject()
 * (deprecated in 3.13, removed in 3.15) because that one hands out a borrowed
 * reference that a finalizer may free under the caller's feet. */
static int weakref_get(PyObject *ref, PyObject **ret_obj) {
#if PY_VERSION_HEX >= 0x030D0000
        return PyWeakref_GetRef(ref, ret_obj);
#else
        PyObject *obj = PyWeakref_GetObject(ref);
        *ret_obj = NULL;
        if (!obj)
                return -1;
        if (obj == Py_None)
                return 0;
        *ret_obj = Py_NewRef(obj);
        return 1;
#endif
}

/* Drop dead entries once the list doubled since the last pruning, so a
 * program that makes many short-lived views keeps a short list. */
static int views_prune(BufferObject *self) {
        Py_ssize_t n = PyList_GET_SIZE(self->views);
        if (n < 2 * self->views_live + 16)
                return 0;
        PyObject *live = PyList_New(0);
        if (!live)
                return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *ref = PyList_GET_ITEM(self->views, i), *mv;
                int alive = weakref_get(ref, &mv);
                Py_XDECREF(mv);
                if (alive < 0 || (alive && PyList_Append(live, ref) < 0)) {
                        Py_DECREF(live);
                        return -1;
                }
        }
        Py_SETREF(self->views, live);
        self->views_live = PyList_GET_SIZE(live);
        return 0;
}

/* Release every memoryview handed out that is still alive. A memoryview with
 * exports of its own refuses (BufferError); that is not an error here, the
 * caller looks at self->exports afterwards. */
static int views_release(BufferObject *self) {
        Py_ssize_t n = PyList_GET_SIZE(self->views);
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *mv;
                int alive = weakref_get(PyList_GET_ITEM(self->views, i), &mv);
                if (alive < 0)
                        return -1;
                if (!alive)
                        continue;
                PyObject *r = PyObject_CallMethod(mv, "release", NULL);
                Py_DECREF(mv);
                if (r) {
                        Py_DECREF(r);
                } else if (PyErr_ExceptionMatches(PyExc_BufferError)) {
                        PyErr_Clear();
                } else {
                        return -1;
                }
        }
        PyObject *empty = PyList_New(0);
        if (!empty)
                return -1;
        Py_SETREF(self->views, empty);
        self->views_live = 0;
        return 0;
}

/* ---- the exporter ------------------------------------------------------- */

static int Exporter_getbuffer(ExporterObject *self, Py_buffer *view, int flags) {
        if (self->owner->closed || !self->owner->sb) {
                PyErr_SetString(PyExc_ValueError, "the shbuf.Buffer of this view is closed");
                return -1;
        }
        if (PyBuffer_FillInfo(view, (PyObject *) self, self->ptr, self->len, self->readonly, flags) < 0)
                return -1;
        self->owner->exports++;
        return 0;
}

static void Exporter_releasebuffer(ExporterObject *self, Py_buffer *view) {
        self->owner->exports--;
}

static void Exporter_dealloc(ExporterObject *self) {
        Py_XDECREF(self->owner);
        Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyBufferProcs Exporter_as_buffer = {
        .bf_getbuffer = (getbufferproc) Exporter_getbuffer,
        .bf_releasebuffer = (releasebufferproc) Exporter_releasebuffer,
};

static PyTypeObject Exporter_Type = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shbuf._View",
        .tp_basicsize = sizeof(ExporterObject),
        .tp_dealloc = (destructor) Exporter_dealloc,
        .tp_as_buffer = &Exporter_as_buffer,
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "The exporter behind a memoryview of shared buffer memory (internal).",
};

static PyObject *make_view(BufferObject *self, unsigned char *ptr, unsigned long len, int readonly) {
        if (views_prune(self) < 0)
                return NULL;
        ExporterObject *ex = PyObject_New(ExporterObject, &Exporter_Type);
        if (!ex)
                return NULL;
        Py_INCREF(self);
        ex->owner = self;
        ex->ptr = ptr;
        ex->len = (Py_ssize_t) len;
        ex->readonly = readonly;
        PyObject *mv = PyMemoryView_FromObject((PyObject *) ex);
        Py_DECREF(ex);
        if (!mv)
                return NULL;
        PyObject *ref = PyWeakref_NewRef(mv, NULL);
        if (!ref || PyList_Append(self->views, ref) < 0) {
                Py_XDECREF(ref);
                Py_DECREF(mv);
                return NULL;
        }
        Py_DECREF(ref);
        return mv;
}

/* ---- Buffer: construction and lifetime ---------------------------------- */

static BufferObject *buffer_new(shbuf *sb, int is_provider) {
        BufferObject *self = PyObject_New(BufferObject, &Buffer_Type);
        if (!self) {
                shbuf_free(sb);
                return NULL;
        }
        self->sb = sb;
        self->key = shbuf_get_key(sb);
        self->size = shbuf_get_size(sb);
        self->is_provider = is_provider;
        self->closed = 0;
        self->notify_on = 0;
        self->pid = getpid();
        self->busy = 0;
        self->exports = 0;
        self->views_live = 0;
        self->views = PyList_New(0);
        const char *name = shbuf_get_backend(sb);
        self->backend = PyUnicode_FromString(name ? name : "");
        if (!self->views || !self->backend) {
                Py_DECREF(self);
                return NULL;
        }
        return self;
}

/* A finalizer must leave the exception being raised as it found it. Python
 * 3.12 replaced the three-part PyErr_Fetch() (deprecated since) by one
 * exception object. */
static void Buffer_finalize(BufferObject *self) {
        if (self->closed || !self->sb || self->pid != getpid())
                return;
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *exc = PyErr_GetRaisedException();
#else
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
#endif
        if (PyErr_ResourceWarning((PyObject *) self, 1, "unclosed shbuf.Buffer with key %ld",
                                  (long) self->key) < 0)
                PyErr_WriteUnraisable((PyObject *) self);
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(exc);
#else
        PyErr_Restore(type, value, tb);
#endif
}

static void Buffer_dealloc(BufferObject *self) {
        if (PyObject_CallFinalizerFromDealloc((PyObject *) self) < 0)
                return; /* resurrected */
        /* Nothing can be busy or exported here: both hold a reference. */
        free_handle(self, 0);
        Py_XDECREF(self->views);
        Py_XDECREF(self->backend);
        Py_TYPE(self)->tp_free((PyObject *) self);
}

PyDoc_STRVAR(Buffer_close_doc, "close($self)\n--\n\n"
                               "Free this end of the buffer. The provider removes the buffer from the\n"
                               "system; a client only detaches, so another client may attach later.\n"
                               "\n"
                               "Memoryviews returned by read_view() and write_view() are released first,\n"
                               "so using one afterwards raises ValueError. If the memory is still\n"
                               "exported through an object derived from a view (a slice of it, or an\n"
                               "array made from it), BufferError is raised and the buffer stays open:\n"
                               "release that object and call close() again. If another thread is inside\n"
                               "a blocking call such as wait(), the buffer is closed for every new call\n"
                               "at once and freed when that call returns. Closing twice is harmless.");

static PyObject *Buffer_close(BufferObject *self, PyObject *unused) {
        if (self->closed)
                Py_RETURN_NONE;
        if (views_release(self) < 0)
                return NULL;
        if (self->exports > 0) {
                PyErr_Format(PyExc_BufferError,
                             "cannot close shbuf key %ld: %zd export(s) of its memory still exist "
                             "(an object made from a view); release them first",
                             (long) self->key, self->exports);
                return NULL;
        }
        self->closed = 1;
        if (self->busy == 0)
                free_handle(self, 1);
        Py_RETURN_NONE;
}

static PyObject *Buffer_enter(BufferObject *self, PyObject *unused) {
        if (!get_sb(self))
                return NULL;
        return Py_NewRef(self);
}

static PyObject *Buffer_exit(BufferObject *self, PyObject *args) {
        PyObject *r = Buffer_close(self, NULL);
        if (!r)
                return NULL;
        Py_DECREF(r);
        Py_RETURN_FALSE;
}

static PyObject *Buffer_repr(BufferObject *self) {
        return PyUnicode_FromFormat("<shbuf.Buffer key=%ld size=%lu backend=%R %s%s>", (long) self->key,
                                    self->size, self->backend, self->is_provider ? "provider" : "client",
                                    self->closed ? " closed" : "");
}

/* ---- attributes --------------------------------------------------------- */

static PyObject *Buffer_get_key(BufferObject *self, void *c) {
        return PyLong_FromLong((long) self->key);
}

static PyObject *Buffer_get_size(BufferObject *self, void *c) {
        return PyLong_FromUnsignedLong(self->size);
}

static PyObject *Buffer_get_backend(BufferObject *self, void *c) {
        return Py_NewRef(self->backend);
}

static PyObject *Buffer_get_is_provider(BufferObject *self, void *c) {
        return PyBool_FromLong(self->is_provider);
}

static PyObject *Buffer_get_closed(BufferObject *self, void *c) {
        return PyBool_FromLong(self->closed);
}

static PyObject *Buffer_get_connected(BufferObject *self, void *c) {
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        int r = shbuf_is_connected(sb);
        if (r < 0)
                return buffer_error(self, errno, "cannot check the peer of");
        return PyBool_FromLong(r);
}

static PyGetSetDef Buffer_getset[] = {
        {"key", (getter) Buffer_get_key, NULL, "The buffer's key (int); give it to the other side.", NULL},
        {"size", (getter) Buffer_get_size, NULL, "Data bytes in the ring (int).", NULL},
        {"backend", (getter) Buffer_get_backend, NULL, "Name of the backend in use: 'sysv' or 'posix'.",
         NULL},
        {"is_provider", (getter) Buffer_get_is_provider, NULL,
         "True for the end that created the buffer, False for a client.", NULL},
        {"closed", (getter) Buffer_get_closed, NULL, "True once close() was called.", NULL},
        {"connected", (getter) Buffer_get_connected, NULL,
         "True if the other side is attached and its process is alive.", NULL},
        {NULL, NULL, NULL, NULL, NULL},
};

/* ---- status ------------------------------------------------------------- */

PyDoc_STRVAR(Buffer_status_doc, "status($self)\n--\n\n"
                                "A snapshot of the shared status block, taken under the status lock, as a\n"
                                "dict with the keys read_idx, length, backlog, backlog_target,\n"
                                "write_count, read_count, ignore_read_inc and ignore_write_inc.");

static PyObject *Buffer_status(BufferObject *self, PyObject *unused) {
        shbuf *sb = enter(self);
        shbuf_status st = {0}; /* set under the lock; GCC cannot always see that */
        int r, err = 0;

        if (!sb)
                return NULL;
        /* The lock may have to be recovered from a dead holder: no GIL. */
        PyThreadState *ts = PyEval_SaveThread();
        r = shbuf_status_lock(sb);
        if (r == 0) {
                st = *shbuf_get_status(sb);
                shbuf_status_unlock(sb);
        } else {
                err = errno;
        }
        PyEval_RestoreThread(ts);
        if (r < 0) {
                leave(self, 0);
                return buffer_error(self, err, "cannot lock the status of");
        }
        if (leave(self, 1) < 0)
                return NULL;
        return Py_BuildValue("{s:k,s:k,s:k,s:k,s:k,s:k,s:O,s:O}", "read_idx", st.read_idx, "length",
                             st.length, "backlog", st.backlog, "backlog_target", st.backlog_target,
                             "write_count", st.write_count, "read_count", st.read_count, "ignore_read_inc",
                             st.ignore_read_inc ? Py_True : Py_False, "ignore_write_inc",
                             st.ignore_write_inc ? Py_True : Py_False);
}

/* Unread bytes right now (the peer can only make it grow). */
static int unread_bytes(BufferObject *self, shbuf *sb, unsigned long *ret) {
        if (shbuf_status_lock(sb) < 0) {
                buffer_error(self, errno, "cannot lock the status of");
                return -1;
        }
        unsigned long l = shbuf_get_status(sb)->length;
        shbuf_status_unlock(sb);
        /* The block is shared and untrusted; the library validates it when
         * copying, this only bounds an allocation. */
        *ret = l > self->size ? self->size : l;
        return 0;
}

/* ---- copying I/O -------------------------------------------------------- */

/* shbuf_read()/shbuf_write() on a busy Buffer, without the GIL when long. */
static long copy_io(shbuf *sb, int writing, void *buf, Py_ssize_t n, int *ret_err) {
        long r;
        if (n >= NOGIL_COPY_MIN) {
                PyThreadState *ts = PyEval_SaveThread();
                r = writing ? shbuf_write(sb, buf, (unsigned long) n)
                            : shbuf_read(sb, buf, (unsigned long) n);
                *ret_err = errno;
                PyEval_RestoreThread(ts);
        } else {
                r = writing ? shbuf_write(sb, buf, (unsigned long) n)
                            : shbuf_read(sb, buf, (unsigned long) n);
                *ret_err = errno;
        }
        return r;
}

PyDoc_STRVAR(Buffer_write_doc,
             "write($self, data, /)\n--\n\n"
             "Copy as much of the bytes-like object data into the ring as fits and\n"
             "commit it. Never blocks. Returns the number of bytes stored: 0 when the\n"
             "ring is full (or when the status flag ignore_write_inc dropped the commit).");

static PyObject *Buffer_write(BufferObject *self, PyObject *arg) {
        Py_buffer view;
        int err = 0;

        if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
                return NULL;
        shbuf *sb = enter(self);
        if (!sb) {
                PyBuffer_Release(&view);
                return NULL;
        }
        long r = copy_io(sb, 1, view.buf, view.len, &err);
        PyBuffer_Release(&view);
        if (r < 0) {
                leave(self, 0);
                return buffer_error(self, err, "cannot write to");
        }
        if (leave(self, 1) < 0)
                return NULL;
        return PyLong_FromLong(r);
}

PyDoc_STRVAR(Buffer_read_doc, "read($self, n=-1, /)\n--\n\n"
                              "Copy up to n unread bytes (all of them when n is negative) out of the\n"
                              "ring, consume them and return them as bytes. Never blocks: returns b''\n"
                              "when the ring is empty.");

static PyObject *Buffer_read(BufferObject *self, PyObject *args) {
        Py_ssize_t n = -1;
        unsigned long avail;
        int err = 0;

        if (!PyArg_ParseTuple(args, "|n:read", &n))
                return NULL;
        shbuf *sb = enter(self);
        if (!sb)
                return NULL;
        if (unread_bytes(self, sb, &avail) < 0) {
                leave(self, 0);
                return NULL;
        }
        if (n < 0 || (unsigned long) n > avail)
                n = (Py_ssize_t) avail;
        PyObject *bytes = PyBytes_FromStringAndSize(NULL, n);
        if (!bytes) {
                leave(self, 0);
                return NULL;
        }
        long r = n > 0 ? copy_io(sb, 0, PyBytes_AS_STRING(bytes), n, &err) : 0;
        if (r < 0) {
                Py_DECREF(bytes);
                leave(self, 0);
                return buffer_error(self, err, "cannot read from");
        }
        if (leave(self, 1) < 0) {
                Py_DECREF(bytes);
                return NULL;
        }
        if (r != n && _PyBytes_Resize(&bytes, r) < 0)
                return NULL;
        return bytes;
}

PyDoc_STRVAR(Buffer_readinto_doc,
             "readinto($self, buf, /)\n--\n\n"
             "Copy up to len(buf) unread bytes into the writable bytes-like object buf\n"
             "and consume them. Never blocks. Returns the number of bytes copied.");

static PyObject *Buffer_readinto(BufferObject *self, PyObject *arg) {
        Py_buffer view;
        int err = 0;

        /* "w*" raises TypeError for a read-only object, as io's readinto(). */
        if (!PyArg_Parse(arg, "w*:readinto", &view))
                return NULL;
        shbuf *sb = enter(self);
        if (!sb) {
                PyBuffer_Release(&view);
                return NULL;
        }
        long r = copy_io(sb, 0, view.buf, view.len, &err);
        PyBuffer_Release(&view);
        if (r < 0) {
                leave(self, 0);
                return buffer_error(self, err, "cannot read from");
        }
        if (leave(self, 1) < 0)
                return NULL;
        return PyLong_FromLong(r);
}

/* ---- zero-copy I/O ------------------------------------------------------ */

PyDoc_STRVAR(Buffer_read_view_doc, "read_view($self)\n--\n\n"
                                   "A read-only memoryview over the contiguous unread bytes at the read\n"
                                   "position, in the shared memory itself (no copy). It may be shorter\n"
                                   "than the unread data when that wraps around the end of the ring; it is\n"
                                   "empty when the ring is empty. Consume what you used with\n"
                                   "commit_read(n). The view is released by close().");

static PyObject *Buffer_read_view(BufferObject *self, PyObject *unused) {
        unsigned long l = 0;
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        unsigned char *p = shbuf_get_read_pointer(sb, &l);
        if (!p)
                return buffer_error(self, errno, "cannot get the read position of");
        return make_view(self, p, l, 1);
}

PyDoc_STRVAR(Buffer_write_view_doc,
             "write_view($self)\n--\n\n"
             "A writable memoryview over the contiguous free bytes at the write\n"
             "position, in the shared memory itself. Fill a prefix of it, then\n"
             "publish it with commit_write(n). Empty when the ring is full. The view\n"
             "is released by close().");

static PyObject *Buffer_write_view(BufferObject *self, PyObject *unused) {
        unsigned long l = 0;
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        unsigned char *p = shbuf_get_write_pointer(sb, &l);
        if (!p)
                return buffer_error(self, errno, "cannot get the write position of");
        return make_view(self, p, l, 0);
}

/* The argument arg of method name as a count: an integer >= 0, or -1 with
 * an exception set. what names it in the message. */
static Py_ssize_t count_arg(PyObject *arg, const char *name, const char *what) {
        Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
        if (n == -1 && PyErr_Occurred())
                return -1;
        if (n < 0) {
                PyErr_Format(PyExc_ValueError, "%s(%zd): %s must not be negative", name, n, what);
                return -1;
        }
        return n;
}

static PyObject *commit(BufferObject *self, PyObject *arg, int writing) {
        const char *name = writing ? "commit_write" : "commit_read";
        Py_ssize_t n = count_arg(arg, name, "the count");
        if (n < 0)
                return NULL;
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        int r = writing ? shbuf_inc_write_pointer(sb, (unsigned long) n)
                        : shbuf_inc_read_pointer(sb, (unsigned long) n);
        if (r < 0) {
                if (errno == EINVAL) {
                        PyErr_Format(PyExc_ValueError, "%s(%zd): more than the %s bytes of shbuf key %ld",
                                     name, n, writing ? "free" : "unread", (long) self->key);
                        return NULL;
                }
                return buffer_error(self, errno,
                                    writing ? "cannot commit a write to" : "cannot commit a read from");
        }
        Py_RETURN_NONE;
}

PyDoc_STRVAR(Buffer_commit_read_doc, "commit_read($self, n, /)\n--\n\n"
                                     "Consume n bytes at the read position (after reading them through\n"
                                     "read_view()). Raises ValueError if n is more than the unread bytes.");

static PyObject *Buffer_commit_read(BufferObject *self, PyObject *arg) {
        return commit(self, arg, 0);
}

PyDoc_STRVAR(Buffer_commit_write_doc,
             "commit_write($self, n, /)\n--\n\n"
             "Publish n bytes written at the write position (through write_view()).\n"
             "Raises ValueError if n is more than the free bytes.");

static PyObject *Buffer_commit_write(BufferObject *self, PyObject *arg) {
        return commit(self, arg, 1);
}

/* ---- ring helpers ------------------------------------------------------- */

static PyObject *predicate(BufferObject *self, int (*fn)(shbuf *), const char *what) {
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        int r = fn(sb);
        if (r < 0)
                return buffer_error(self, errno, what);
        return PyBool_FromLong(r);
}

PyDoc_STRVAR(Buffer_is_empty_doc, "is_empty($self)\n--\n\nTrue if there are no unread bytes.");

static PyObject *Buffer_is_empty(BufferObject *self, PyObject *unused) {
        return predicate(self, shbuf_is_empty, "cannot look at");
}

PyDoc_STRVAR(Buffer_is_full_doc, "is_full($self)\n--\n\nTrue if the ring holds size unread bytes.");

static PyObject *Buffer_is_full(BufferObject *self, PyObject *unused) {
        return predicate(self, shbuf_is_full, "cannot look at");
}

PyDoc_STRVAR(Buffer_reset_doc, "reset($self, zero=False)\n--\n\n"
                               "Empty the ring (read index, length and backlog become 0; the counters\n"
                               "are kept). With zero=True the data memory is also filled with zeros.");

static PyObject *Buffer_reset(BufferObject *self, PyObject *args, PyObject *kw) {
        static char *kwlist[] = {"zero", NULL};
        int zero = 0;
        if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:reset", kwlist, &zero))
                return NULL;
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if ((zero ? shbuf_zero(sb) : shbuf_reset(sb)) < 0)
                return buffer_error(self, errno, "cannot reset");
        Py_RETURN_NONE;
}

PyDoc_STRVAR(Buffer_access_doc, "access($self, mode, /)\n--\n\n"
                                "Apply the permission bits mode & 0o777 to every OS object of the buffer.");

static PyObject *Buffer_access(BufferObject *self, PyObject *arg) {
        long mode = PyLong_AsLong(arg);
        if (mode == -1 && PyErr_Occurred())
                return NULL;
        if (mode < 0 || mode > 07777) {
                PyErr_Format(PyExc_ValueError, "mode must be within 0o0..0o7777, not %ld", mode);
                return NULL;
        }
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if (shbuf_access(sb, (int) mode) < 0)
                return buffer_error(self, errno, "cannot change the mode of");
        Py_RETURN_NONE;
}

/* ---- waiting and notification ------------------------------------------ */

static double monotonic_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

PyDoc_STRVAR(Buffer_wait_doc, "wait($self, timeout=None)\n--\n\n"
                              "Block until the other side commits or notifies, at most timeout seconds\n"
                              "(None: no limit). Returns True when woken, False when the time ran out.\n"
                              "Wake-ups may be spurious: look at the ring again after each return.\n"
                              "Releases the GIL; a signal (Ctrl-C) runs its Python handler, whose\n"
                              "exception, such as KeyboardInterrupt, propagates. Raises\n"
                              "BrokenPipeError when the other side closed its end or died.");

static PyObject *Buffer_wait(BufferObject *self, PyObject *args, PyObject *kw) {
        static char *kwlist[] = {"timeout", NULL};
        PyObject *timeout_obj = Py_None;
        double timeout = -1.0, deadline = 0.0;
        PyObject *result = NULL;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait", kwlist, &timeout_obj))
                return NULL;
        if (timeout_obj != Py_None) {
                timeout = PyFloat_AsDouble(timeout_obj);
                if (timeout == -1.0 && PyErr_Occurred())
                        return NULL;
                if (!(timeout >= 0.0)) {
                        PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number or None");
                        return NULL;
                }
                deadline = monotonic_s() + timeout;
        }
        shbuf *sb = enter(self);
        if (!sb)
                return NULL;
        for (;;) {
                int ms = -1, r, err;
                if (timeout >= 0.0) {
                        double left = deadline - monotonic_s();
                        /* Round up, so a short timeout still sleeps. */
                        double left_ms = left <= 0.0 ? 0.0 : ceil(left * 1000.0);
                        ms = left_ms > (double) INT_MAX ? INT_MAX : (int) left_ms;
                }
                PyThreadState *ts = PyEval_SaveThread();
                r = shbuf_wait_timeout(sb, ms);
                err = errno;
                PyEval_RestoreThread(ts);
                if (r == 0) {
                        result = Py_NewRef(Py_True);
                        break;
                }
                if (err == ETIMEDOUT) {
                        if (ms == INT_MAX)
                                continue; /* a very long timeout, in slices */
                        result = Py_NewRef(Py_False);
                        break;
                }
                if (err == EINTR) {
                        /* Run the Python signal handlers; an exception
                         * (KeyboardInterrupt) ends the wait, else go on. */
                        if (PyErr_CheckSignals() < 0)
                                break;
                        if (self->closed)
                                break;
                        continue;
                }
                buffer_error(self, err, "cannot wait on");
                break;
        }
        if (leave(self, result != NULL) < 0)
                Py_CLEAR(result);
        if (!result && !PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "shbuf.Buffer was closed by another thread during wait()");
        return result;
}

/* shbuf_set_spin() or shbuf_set_busy_spin() with a count of microseconds.
 * The library decides which counts it accepts and says EINVAL for the others;
 * only a count that the C unsigned cannot hold is refused here, before it
 * would wrap into one the library accepts. */
static PyObject *set_spin_limit(BufferObject *self, PyObject *arg, int (*fn)(shbuf *, unsigned),
                                const char *name) {
        Py_ssize_t usec = count_arg(arg, name, "usec");
        if (usec < 0)
                return NULL;
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if ((size_t) usec > UINT_MAX || fn(sb, (unsigned) usec) < 0) {
                if ((size_t) usec > UINT_MAX || errno == EINVAL) {
                        PyErr_Format(PyExc_ValueError, "%s(%zd): usec out of the range libshbuf accepts",
                                     name, usec);
                        return NULL;
                }
                return buffer_error(self, errno, "cannot set the spin of");
        }
        Py_RETURN_NONE;
}

PyDoc_STRVAR(Buffer_set_spin_doc,
             "set_spin($self, usec, /)\n--\n\n"
             "Let wait() spin for up to usec microseconds (0 to 100000), watching for\n"
             "the other side's next commit, before it sleeps in the kernel: faster round\n"
             "trips for CPU time while spinning. Off (0) by default; the environment\n"
             "variable SHBUF_SPIN_US sets the default of new buffers. A side with\n"
             "nothing to do still sleeps after the spin. Raises ValueError for a value\n"
             "out of range.");

static PyObject *Buffer_set_spin(BufferObject *self, PyObject *arg) {
        return set_spin_limit(self, arg, shbuf_set_spin, "set_spin");
}

PyDoc_STRVAR(Buffer_set_busy_spin_doc,
             "set_busy_spin($self, usec, /)\n--\n\n"
             "Bound, to usec microseconds (0 to 100000), the spin of wait() while the\n"
             "other side is in the middle of the transfer waited for (between its look\n"
             "and its commit). 20 by default, or SHBUF_BUSY_SPIN_US in the environment\n"
             "for new buffers; 0 turns it off. It never spins for an idle peer. With\n"
             "fileno() in use, reads, writes and views that find nothing to do spin on\n"
             "the same terms. Raises ValueError for a value out of range.");

static PyObject *Buffer_set_busy_spin(BufferObject *self, PyObject *arg) {
        return set_spin_limit(self, arg, shbuf_set_busy_spin, "set_busy_spin");
}

PyDoc_STRVAR(Buffer_notify_doc, "notify($self)\n--\n\n"
                                "Wake the other side, whether it is waiting or not. Raises\n"
                                "BrokenPipeError when the buffer was removed.");

static PyObject *Buffer_notify(BufferObject *self, PyObject *unused) {
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if (shbuf_notify(sb) < 0)
                return buffer_error(self, errno, "cannot notify the peer of");
        Py_RETURN_NONE;
}

PyDoc_STRVAR(Buffer_fileno_doc, "fileno($self)\n--\n\n"
                                "The select descriptor: readable after each notification from the other\n"
                                "side and when it goes away, so a Buffer works with select, selectors and\n"
                                "asyncio's loop.add_reader(). Do not read or close it; call post_select()\n"
                                "after it was reported readable. The first call starts the notifier.");

static PyObject *Buffer_fileno(BufferObject *self, PyObject *unused) {
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if (!self->notify_on) {
                if (shbuf_notify_enable(sb, 1) < 0)
                        return buffer_error(self, errno, "cannot start notifications of");
                self->notify_on = 1;
        }
        int fd = shbuf_get_select_fd(sb);
        if (fd < 0)
                return buffer_error(self, errno, "cannot get the select descriptor of");
        return PyLong_FromLong(fd);
}

PyDoc_STRVAR(Buffer_post_select_doc,
             "post_select($self)\n--\n\n"
             "Drain the select descriptor after it was reported readable, and re-arm\n"
             "it; then look at the ring. Raises BrokenPipeError when the other side\n"
             "went away (the descriptor then stays readable).");

static PyObject *Buffer_post_select(BufferObject *self, PyObject *unused) {
        shbuf *sb = get_sb(self);
        if (!sb)
                return NULL;
        if (!self->notify_on) {
                PyErr_SetString(PyExc_ValueError, "post_select() before fileno()");
                return NULL;
        }
        if (shbuf_post_select(sb) < 0)
                return buffer_error(self, errno, "select descriptor of");
        Py_RETURN_NONE;
}

/* ---- asyncio ------------------------------------------------------------ */

/*
 * The coroutines live in shbuf/_aio.py, written in Python: a coroutine in C
 * would be a hand-made awaitable state machine, and these only wait on the
 * select descriptor through the event loop. The module is imported on first
 * use, so that `import shbuf` does not import asyncio.
 */
static PyObject *aio_call(const char *name, BufferObject *self, PyObject *args, PyObject *kw) {
        PyObject *mod = PyImport_ImportModule("shbuf._aio");
        if (!mod)
                return NULL;
        PyObject *fn = PyObject_GetAttrString(mod, name);
        Py_DECREF(mod);
        if (!fn)
                return NULL;
        Py_ssize_t n = PyTuple_GET_SIZE(args);
        PyObject *full = PyTuple_New(n + 1);
        if (!full) {
                Py_DECREF(fn);
                return NULL;
        }
        PyTuple_SET_ITEM(full, 0, Py_NewRef((PyObject *) self));
        for (Py_ssize_t i = 0; i < n; i++)
                PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
        PyObject *r = PyObject_Call(fn, full, kw);
        Py_DECREF(full);
        Py_DECREF(fn);
        return r;
}

/* Buffer.<name>(): the coroutine <name> of shbuf/_aio.py, for this Buffer. */
#define AIO_METHOD(name)                                                                                    \
        static PyObject *Buffer_##name(BufferObject *self, PyObject *args, PyObject *kw) {                  \
                return aio_call(#name, self, args, kw);                                                     \
        }
AIO_METHOD(wait_async)
AIO_METHOD(read_async)
AIO_METHOD(write_async)

PyDoc_STRVAR(Buffer_wait_async_doc,
             "wait_async($self, timeout=None)\n--\n\n"
             "Coroutine: wait(), for asyncio. Waits on the select descriptor (see\n"
             "fileno()) with loop.add_reader(), without a thread and without polling,\n"
             "until the other side commits or notifies, at most timeout seconds (None:\n"
             "no limit); then calls post_select(). Returns True when woken, False when\n"
             "the time ran out; wake-ups may be spurious, so look at the ring again.\n"
             "Cancelling the task stops the wait. Raises BrokenPipeError when the\n"
             "other side closed its end or died.");

PyDoc_STRVAR(Buffer_read_async_doc,
             "read_async($self, n=-1)\n--\n\n"
             "Coroutine: wait until there are unread bytes, then read() up to n of\n"
             "them (all when n is negative) and return them as bytes; n == 0 returns\n"
             "b'' at once. Raises BrokenPipeError when the other side went away and\n"
             "everything it wrote has been read.");

PyDoc_STRVAR(Buffer_write_async_doc,
             "write_async($self, data)\n--\n\n"
             "Coroutine: write all of the bytes-like object data, waiting for room\n"
             "whenever the ring is full, as socket.sendall() does. Returns None.\n"
             "Raises BrokenPipeError when the other side went away. When the task is\n"
             "cancelled, a prefix of data may have been written.");

static PyMethodDef Buffer_methods[] = {
        {"close", (PyCFunction) Buffer_close, METH_NOARGS, Buffer_close_doc},
        {"__enter__", (PyCFunction) Buffer_enter, METH_NOARGS, "Return the Buffer itself."},
        {"__exit__", (PyCFunction) Buffer_exit, METH_VARARGS, "Close the Buffer (see close())."},
        {"status", (PyCFunction) Buffer_status, METH_NOARGS, Buffer_status_doc},
        {"write", (PyCFunction) Buffer_write, METH_O, Buffer_write_doc},
        {"read", (PyCFunction) Buffer_read, METH_VARARGS, Buffer_read_doc},
        {"readinto", (PyCFunction) Buffer_readinto, METH_O, Buffer_readinto_doc},
        {"read_view", (PyCFunction) Buffer_read_view, METH_NOARGS, Buffer_read_view_doc},
        {"write_view", (PyCFunction) Buffer_write_view, METH_NOARGS, Buffer_write_view_doc},
        {"commit_read", (PyCFunction) Buffer_commit_read, METH_O, Buffer_commit_read_doc},
        {"commit_write", (PyCFunction) Buffer_commit_write, METH_O, Buffer_commit_write_doc},
        {"is_empty", (PyCFunction) Buffer_is_empty, METH_NOARGS, Buffer_is_empty_doc},
        {"is_full", (PyCFunction) Buffer_is_full, METH_NOARGS, Buffer_is_full_doc},
        {"reset", (PyCFunction) (void (*)(void)) Buffer_reset, METH_VARARGS | METH_KEYWORDS,
         Buffer_reset_doc},
        {"access", (PyCFunction) Buffer_access, METH_O, Buffer_access_doc},
        {"wait", (PyCFunction) (void (*)(void)) Buffer_wait, METH_VARARGS | METH_KEYWORDS, Buffer_wait_doc},
        {"set_spin", (PyCFunction) Buffer_set_spin, METH_O, Buffer_set_spin_doc},
        {"set_busy_spin", (PyCFunction) Buffer_set_busy_spin, METH_O, Buffer_set_busy_spin_doc},
        {"notify", (PyCFunction) Buffer_notify, METH_NOARGS, Buffer_notify_doc},
        {"fileno", (PyCFunction) Buffer_fileno, METH_NOARGS, Buffer_fileno_doc},
        {"post_select", (PyCFunction) Buffer_post_select, METH_NOARGS, Buffer_post_select_doc},
        {"wait_async", (PyCFunction) (void (*)(void)) Buffer_wait_async, METH_VARARGS | METH_KEYWORDS,
         Buffer_wait_async_doc},
        {"read_async", (PyCFunction) (void (*)(void)) Buffer_read_async, METH_VARARGS | METH_KEYWORDS,
         Buffer_read_async_doc},
        {"write_async", (PyCFunction) (void (*)(void)) Buffer_write_async, METH_VARARGS | METH_KEYWORDS,
         Buffer_write_async_doc},
        {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Buffer_doc, "One end of a shared buffer, made by shbuf.create() (the provider) or\n"
                         "shbuf.open() (the client). A context manager: leaving the with block\n"
                         "calls close().");

static PyTypeObject Buffer_Type = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shbuf.Buffer",
        .tp_basicsize = sizeof(BufferObject),
        .tp_dealloc = (destructor) Buffer_dealloc,
        .tp_finalize = (destructor) Buffer_finalize,
        .tp_repr = (reprfunc) Buffer_repr,
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = Buffer_doc,
        .tp_methods = Buffer_methods,
        .tp_getset = Buffer_getset,
};

/* ---- module functions --------------------------------------------------- */

/* A backend name given by the caller: None, or one of the compiled ones. */
static int check_backend(const char *name) {
        if (!name)
                return 0;
        for (const char *const *b = shbuf_backends(); *b; b++)
                if (strcmp(*b, name) == 0)
                        return 0;
        PyObject *list = PyUnicode_FromString("");
        for (const char *const *b = shbuf_backends(); list && *b; b++) {
                PyObject *s = PyUnicode_FromFormat("%U%s%s", list, b == shbuf_backends() ? "" : ", ", *b);
                Py_SETREF(list, s);
        }
        if (list)
                PyErr_Format(PyExc_ValueError, "unknown backend '%s' (compiled in: %U)", name, list);
        Py_XDECREF(list);
        return -1;
}

PyDoc_STRVAR(create_doc, "create(key=0, size=1048576, backend=None, mode=0o600)\n--\n\n"
                         "Create a shared buffer of size data bytes and return its provider end\n"
                         "as a Buffer. key=0 picks a free key (see Buffer.key). backend is 'sysv'\n"
                         "or 'posix'; None means the environment variable SHBUF_BACKEND, else the\n"
                         "build default (see backends()). mode is the permission bits of the new\n"
                         "objects (0 means 0o600). Raises FileExistsError when the key is taken,\n"
                         "another OSError when the system refuses.");

static PyObject *shbuf_py_create(PyObject *module, PyObject *args, PyObject *kw) {
        static char *kwlist[] = {"key", "size", "backend", "mode", NULL};
        int key = 0, mode = 0600;
        Py_ssize_t size = DEFAULT_SIZE;
        const char *backend = NULL;
        shbuf *sb;
        int err;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "|inzi:create", kwlist, &key, &size, &backend, &mode))
                return NULL;
        if (key < 0) {
                PyErr_Format(PyExc_ValueError, "key must be >= 0, not %d", key);
                return NULL;
        }
        if (size <= 0) {
                PyErr_Format(PyExc_ValueError, "size must be positive, not %zd", size);
                return NULL;
        }
        if (mode < 0 || mode > 0777) {
                PyErr_Format(PyExc_ValueError, "mode must be within 0o0..0o777, not %#o", mode);
                return NULL;
        }
        if (check_backend(backend) < 0)
                return NULL;
        shbuf_options opts = {.backend = backend, .mode = mode};
        PyThreadState *ts = PyEval_SaveThread();
        sb = shbuf_create_with((key_t) key, (unsigned long) size, &opts);
        err = errno;
        PyEval_RestoreThread(ts);
        if (!sb)
                return set_error(err, "cannot create", (key_t) key, key != 0);
        return (PyObject *) buffer_new(sb, 1);
}

PyDoc_STRVAR(open_doc, "open(key, backend=None)\n--\n\n"
                       "Attach to the buffer under key as its client and return a Buffer.\n"
                       "backend=None finds the buffer whichever backend made it. Raises\n"
                       "FileNotFoundError (no such buffer), PermissionError, or OSError with\n"
                       "errno EBUSY (a client is attached) or EPROTO (not a shared buffer).");

static PyObject *shbuf_py_open(PyObject *module, PyObject *args, PyObject *kw) {
        static char *kwlist[] = {"key", "backend", NULL};
        int key;
        const char *backend = NULL;
        shbuf *sb;
        int err;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "i|z:open", kwlist, &key, &backend))
                return NULL;
        if (key < 0) {
                PyErr_Format(PyExc_ValueError, "key must be >= 0, not %d", key);
                return NULL;
        }
        if (check_backend(backend) < 0)
                return NULL;
        shbuf_options opts = {.backend = backend};
        PyThreadState *ts = PyEval_SaveThread();
        sb = shbuf_open_with((key_t) key, &opts);
        err = errno;
        PyEval_RestoreThread(ts);
        if (!sb)
                return set_error(err, "cannot open", (key_t) key, 1);
        return (PyObject *) buffer_new(sb, 0);
}

PyDoc_STRVAR(backends_doc, "backends()\n--\n\nThe names of the compiled backends, the default first.");

static PyObject *shbuf_py_backends(PyObject *module, PyObject *unused) {
        PyObject *list = PyList_New(0);
        for (const char *const *b = shbuf_backends(); list && *b; b++) {
                PyObject *s = PyUnicode_FromString(*b);
                if (!s || PyList_Append(list, s) < 0) {
                        Py_XDECREF(s);
                        Py_CLEAR(list);
                        break;
                }
                Py_DECREF(s);
        }
        return list;
}

PyDoc_STRVAR(default_backend_doc, "default_backend()\n--\n\nThe build's default backend (SHBUF_BACKEND in "
                                  "the environment overrides it).");

static PyObject *shbuf_py_default_backend(PyObject *module, PyObject *unused) {
        return PyUnicode_FromString(shbuf_default_backend());
}

static PyMethodDef module_methods[] = {
        {"create", (PyCFunction) (void (*)(void)) shbuf_py_create, METH_VARARGS | METH_KEYWORDS, create_doc},
        {"open", (PyCFunction) (void (*)(void)) shbuf_py_open, METH_VARARGS | METH_KEYWORDS, open_doc},
        {"backends", shbuf_py_backends, METH_NOARGS, backends_doc},
        {"default_backend", shbuf_py_default_backend, METH_NOARGS, default_backend_doc},
        {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc, "Shared buffers: a byte ring in shared memory that streams data between\n"
                         "two processes, faster than a pipe, with zero-copy access (libshbuf).\n"
                         "\n"
                         "The provider calls create() and tells the other side the key; the\n"
                         "client calls open(key). Either side may write. Example:\n"
                         "\n"
                         "    with shbuf.create(size=1 << 20) as buf:\n"
                         "        print(buf.key)            # give this to the consumer\n"
                         "        data = memoryview(payload)\n"
                         "        while data:\n"
                         "            n = buf.write(data)\n"
                         "            data = data[n:]\n"
                         "            if not n:\n"
                         "                buf.wait()        # the ring is full\n");

static struct PyModuleDef shbuf_module = {
        PyModuleDef_HEAD_INIT, .m_name = "shbuf._shbuf",    .m_doc = module_doc,
        .m_size = -1,          .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__shbuf(void) {
        if (PyType_Ready(&Buffer_Type) < 0 || PyType_Ready(&Exporter_Type) < 0)
                return NULL;
        PyObject *m = PyModule_Create(&shbuf_module);
        if (!m)
                return NULL;
        Py_INCREF(&Buffer_Type);
        if (PyModule_AddObject(m, "Buffer", (PyObject *) &Buffer_Type) < 0) {
                Py_DECREF(&Buffer_Type);
                Py_DECREF(m);
                return NULL;
        }
        if (PyModule_AddIntConstant(m, "DEFAULT_SIZE", DEFAULT_SIZE) < 0 ||
            PyModule_AddStringConstant(m, "__version__", SHBUF_PY_VERSION) < 0 ||
            PyModule_AddIntConstant(m, "VERSION_NUMBER", SHBUF_VERSION_NUMBER) < 0) {
                Py_DECREF(m);
                return NULL;
        }
        return m;
}
