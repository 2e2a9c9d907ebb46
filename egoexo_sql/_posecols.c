/*
 * egoexo_sql._posecols: decode one ego pose body/hand file straight into columns.
 *
 * The optional native fast path of egoexo_sql/tables/ego_pose.py (compile_pose_file).
 * A file is {"<frame>": [{"annotation3D": {joint: {x, y, z, num_views_for_3d}},
 * "annotation2D": {cam: {joint: {x, y, placement}}}, ...}]} (egoexo-format.md, 13).
 * decode_pose(data) parses it in one pass and returns the rows of ego_pose_3d and
 * ego_pose_2d as Arrow-ready buffers (int32 / float64 values, validity bitmaps,
 * int32 string offsets), so no Python object is made per joint.
 *
 * It never decides that a file is wrong. Whenever the bytes are not exactly what this
 * parser knows (a syntax error, a wrong type, a backslash escape or a non-ASCII byte in
 * a string, a duplicate key, a frame key that is not a plain number, an integer out of
 * int32 range, a float it cannot round exactly...) it returns None, and the Python
 * path decodes the file with msgspec: that path is the reference, which makes the
 * rows or raises the InputError naming the file and JSON path. So for every input
 * both paths give the same rows or the same error (tests/test_ego_pose_native.py).
 *
 * Floats are rounded exactly as Python's float() does: a 64-bit-significand long
 * double computes m * 10^e in one correctly rounded step and is used only when its
 * extra 11 bits are not near a halfway point; otherwise PyOS_string_to_double (the
 * interpreter's own correctly rounded conversion) decides. The module checks at import
 * that this platform's long double behaves so, and uses PyOS_string_to_double alone
 * when it does not.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* bump when the Python side must change with the C side (ego_pose.NATIVE_ABI) */
#define ABI 1
#ifndef POSECOLS_SOURCE_SHA256 /* set by hatch_build.py: the sha256 of this file */
#define POSECOLS_SOURCE_SHA256 ""
#endif
#define MAX_DEPTH 64
#define MAX_KEYS 512 /* keys per object checked for duplicates; more: fall back */

/* ------------------------------------------------------------------ buffers */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int grow(Buf *b, Py_ssize_t need) {
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need) cap *= 2;
    char *q = PyMem_RawRealloc(b->p, (size_t)cap);
    if (!q) return -1;
    b->p = q;
    b->cap = cap;
    return 0;
}

static inline int put(Buf *b, const void *src, Py_ssize_t n) {
    if (b->len + n > b->cap && grow(b, n) < 0) return -1;
    memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static inline int put_i32(Buf *b, int32_t v) { return put(b, &v, 4); }
static inline int put_f64(Buf *b, double v) { return put(b, &v, 8); }

static void buf_free(Buf *b) {
    PyMem_RawFree(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* a validity bitmap (Arrow: LSB first, 1 = valid) grown one row at a time */
typedef struct {
    Buf bits;
    Py_ssize_t nulls;
} Valid;

static inline int valid_push(Valid *v, Py_ssize_t row, int ok) {
    if ((row & 7) == 0) {
        char z = 0;
        if (put(&v->bits, &z, 1) < 0) return -1;
    }
    if (ok)
        v->bits.p[row >> 3] |= (char)(1 << (row & 7));
    else
        v->nulls++;
    return 0;
}

/* a string column: int32 offsets (starting with 0) and the bytes */
typedef struct {
    Buf off, data;
} Str;

static inline int str_push(Str *s, const char *p, Py_ssize_t n) {
    if (s->data.len + n > INT32_MAX) return -1;
    if (n && put(&s->data, p, n) < 0) return -1;
    return put_i32(&s->off, (int32_t)s->data.len);
}

/* the columns of one table (ego_pose_3d uses x, y, z, views; ego_pose_2d cam, x, y, placement) */
typedef struct {
    Py_ssize_t n;
    Buf frame, idx, x, y, z, views;
    Valid vx, vy, vz, vviews, vplacement;
    Str cam, joint, placement;
} Table;

static void table_free(Table *t) {
    Buf *bufs[] = {&t->frame, &t->idx, &t->x, &t->y, &t->z, &t->views,
                   &t->vx.bits, &t->vy.bits, &t->vz.bits, &t->vviews.bits, &t->vplacement.bits,
                   &t->cam.off, &t->cam.data, &t->joint.off, &t->joint.data,
                   &t->placement.off, &t->placement.data};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) buf_free(bufs[i]);
}

static int table_init(Table *t) {
    memset(t, 0, sizeof(*t));
    return put_i32(&t->cam.off, 0) | put_i32(&t->joint.off, 0) | put_i32(&t->placement.off, 0);
}

/* ------------------------------------------------------------------ duplicate keys */
typedef struct {
    uint64_t bloom[4];
    int n;
    uint32_t hash[MAX_KEYS];
    const char *ptr[MAX_KEYS];
    Py_ssize_t len[MAX_KEYS];
} KeySet;

static inline void keys_reset(KeySet *k) {
    k->bloom[0] = k->bloom[1] = k->bloom[2] = k->bloom[3] = 0;
    k->n = 0;
}

/* 0: new key (remembered); 1: a duplicate, or too many keys to check */
static inline int keys_seen(KeySet *k, const char *p, Py_ssize_t n, uint32_t h) {
    uint64_t bit = (uint64_t)1 << (h & 63);
    uint64_t *word = &k->bloom[(h >> 6) & 3];
    if (*word & bit) {
        for (int i = 0; i < k->n; i++)
            if (k->hash[i] == h && k->len[i] == n && memcmp(k->ptr[i], p, (size_t)n) == 0) return 1;
    }
    if (k->n == MAX_KEYS) return 1;
    *word |= bit;
    k->hash[k->n] = h;
    k->ptr[k->n] = p;
    k->len[k->n] = n;
    k->n++;
    return 0;
}

/* ------------------------------------------------------------------ parser */
typedef struct {
    const char *p, *end;
    int nomem;
    Table t3, t2;
    Buf frames;
    int frames_sorted;
    int32_t last_frame;
    /* distinct cameras with at least one 2D joint, in first-seen order */
    int ncams;
    const char *cam_ptr[MAX_KEYS];
    Py_ssize_t cam_len[MAX_KEYS];
    KeySet k_joint3, k_cam, k_joint2;
} P;

#define FAIL (-1)
#define WS(s)                                                                          \
    while (*(s)->p == ' ' || *(s)->p == '\n' || *(s)->p == '\r' || *(s)->p == '\t') (s)->p++
#define ISDIGIT(c) ((unsigned)((c) - '0') < 10u)
#define TRY(x)                       \
    do {                             \
        if ((x) < 0) return FAIL;    \
    } while (0)
#define MEM(s, x)                    \
    do {                             \
        if ((x) < 0) {               \
            (s)->nomem = 1;          \
            return FAIL;             \
        }                            \
    } while (0)

static int use_long_double = 0; /* set at import by self_test() */

static const double P10D[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const long double P10L[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
/* eight ASCII digits at once (the bytes of a little-endian load) */
static inline int eight_digits(uint64_t v) {
    return (((v & 0xF0F0F0F0F0F0F0F0ull) | (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
            0x3333333333333333ull);
}
static inline uint64_t eight_digits_value(uint64_t v) {
    v -= 0x3030303030303030ull;
    v = (v * 10) + (v >> 8); /* pairs */
    v = (((v & 0x000000FF000000FFull) * 0x000F424000000064ull) +
         (((v >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >> 32;
    return v;
}
#else
#define SWAR 0
#endif

/* The sign and integer part of a JSON number at p (no leading zeros): returns the end
   of its digits, *digits their start; NULL when there is none. */
static inline const char *int_part(const char *p, int *neg, const char **digits) {
    *neg = *p == '-';
    if (*neg) p++;
    *digits = p;
    if (*p == '0') return p + 1;
    if (*p < '1' || *p > '9') return NULL;
    while (ISDIGIT(*p)) p++;
    return p;
}

/* A JSON number (strict grammar) as the double Python's float() gives; FAIL when not
   a number or when it would overflow. Does not consume null. */
static int number(P *s, double *out) {
    const char *start = s->p, *p, *d;
    int neg, nd = 0, e10 = 0, inexact = 0;
    uint64_t m = 0;
    if (!(p = int_part(s->p, &neg, &d))) return FAIL;
    for (; d < p; d++) {
        if (nd < 19) { /* (a lone "0" counts as a digit: one less for the fraction) */
            m = m * 10 + (uint64_t)(*d - '0');
            nd++;
        } else {
            e10++;
            inexact = 1;
        }
    }
    if (*p == '.') {
        p++;
        if (!ISDIGIT(*p)) return FAIL;
        if (m == 0)
            while (*p == '0') { /* leading zeros of the fraction: not significant */
                e10--;
                p++;
            }
#if SWAR
        while (nd <= 11 && s->end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (!eight_digits(v)) break;
            m = m * 100000000u + eight_digits_value(v);
            nd += 8;
            e10 -= 8;
            p += 8;
        }
#endif
        while (ISDIGIT(*p)) {
            int d = *p - '0';
            if (m == 0 && d == 0) {
                e10--;
            } else if (nd < 19) {
                m = m * 10 + (uint64_t)d;
                nd++;
                e10--;
            } else {
                inexact = 1;
            }
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        int esign = 1, ev = 0;
        if (*p == '+') {
            p++;
        } else if (*p == '-') {
            esign = -1;
            p++;
        }
        if (!ISDIGIT(*p)) return FAIL;
        while (ISDIGIT(*p)) {
            if (ev < 100000) ev = ev * 10 + (*p - '0');
            p++;
        }
        e10 += esign * ev;
    }
    s->p = p;
    if (!inexact) {
        if (m == 0) {
            *out = neg ? -0.0 : 0.0;
            return 0;
        }
        /* exact operands, one correctly rounded operation */
        if (m < ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
            double v = (double)m;
            v = e10 < 0 ? v / P10D[-e10] : v * P10D[e10];
            *out = neg ? -v : v;
            return 0;
        }
        if (use_long_double && e10 >= -27 && e10 <= 27) {
            long double v = (long double)m;
            v = e10 < 0 ? v / P10L[-e10] : v * P10L[e10];
            uint64_t bits;
            memcpy(&bits, &v, 8);
            unsigned low = (unsigned)(bits & 0x7FF);
            if (low < 0x3FF || low > 0x401) { /* not near a halfway point: no double rounding */
                double d = (double)v;
                *out = neg ? -d : d;
                return 0;
            }
        }
    }
    /* the interpreter's correctly rounded conversion */
    char *endp = NULL;
    double v = PyOS_string_to_double(start, &endp, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return FAIL;
    }
    if (endp != p || Py_IS_INFINITY(v) || Py_IS_NAN(v)) return FAIL;
    *out = v;
    return 0;
}

/* an int32 (no fraction, no exponent): anything else fails */
static int int32(P *s, int32_t *out) {
    const char *p, *d;
    int neg;
    int64_t v = 0;
    if (!(p = int_part(s->p, &neg, &d)) || p - d > 10) return FAIL;
    for (; d < p; d++) v = v * 10 + (*d - '0');
    if (*p == '.' || *p == 'e' || *p == 'E') return FAIL;
    if (neg) v = -v;
    if (v < INT32_MIN || v > INT32_MAX) return FAIL;
    s->p = p;
    *out = (int32_t)v;
    return 0;
}

static inline int is_null(P *s) {
    if (s->p[0] == 'n' && s->p[1] == 'u' && s->p[2] == 'l' && s->p[3] == 'l') {
        s->p += 4;
        return 1;
    }
    return 0;
}

/* a plain string (ASCII, no escapes) at '"': its bytes and FNV-1a hash */
static inline int string(P *s, const char **k, Py_ssize_t *n, uint32_t *h) {
    if (*s->p != '"') return FAIL;
    const char *q = ++s->p;
    uint32_t hash = 2166136261u;
    for (;;) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c < 0x20 || c >= 0x80 || c == '\\') return FAIL;
        hash = (hash ^ c) * 16777619u;
        q++;
    }
    *k = s->p;
    *n = q - s->p;
    *h = hash;
    s->p = q + 1;
    return 0;
}

/* a key and its ':' */
static inline int key(P *s, const char **k, Py_ssize_t *n, uint32_t *h) {
    TRY(string(s, k, n, h));
    WS(s);
    if (*s->p != ':') return FAIL;
    s->p++;
    WS(s);
    return 0;
}

/* after a member: ',' (then 1) or the closing char (then 0) */
static inline int next(P *s, char close) {
    WS(s);
    if (*s->p == ',') {
        s->p++;
        WS(s);
        return 1;
    }
    if (*s->p == close) {
        s->p++;
        return 0;
    }
    return FAIL;
}

/* at '{': consume it; 1 if the object is empty (consumed whole), 0 if a key follows */
static inline int open_obj(P *s, char open, char close) {
    if (*s->p != open) return FAIL;
    s->p++;
    WS(s);
    if (*s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

static int skip(P *s, int depth) {
    const char *k;
    Py_ssize_t n;
    uint32_t h;
    double d;
    int r;
    if (depth > MAX_DEPTH) return FAIL;
    switch (*s->p) {
    case '"':
        return string(s, &k, &n, &h);
    case '{':
        TRY(r = open_obj(s, '{', '}'));
        if (r) return 0;
        do {
            TRY(key(s, &k, &n, &h));
            TRY(skip(s, depth + 1));
        } while ((r = next(s, '}')) == 1);
        return r;
    case '[':
        TRY(r = open_obj(s, '[', ']'));
        if (r) return 0;
        do {
            TRY(skip(s, depth + 1));
        } while ((r = next(s, ']')) == 1);
        return r;
    case 't': /* compared byte by byte: never past the terminating NUL */
        if (s->p[1] == 'r' && s->p[2] == 'u' && s->p[3] == 'e') {
            s->p += 4;
            return 0;
        }
        return FAIL;
    case 'f':
        if (s->p[1] == 'a' && s->p[2] == 'l' && s->p[3] == 's' && s->p[4] == 'e') {
            s->p += 5;
            return 0;
        }
        return FAIL;
    case 'n':
        return is_null(s) ? 0 : FAIL;
    default:
        return number(s, &d);
    }
}

#define KEY_IS(k, n, lit) ((n) == (Py_ssize_t)(sizeof(lit) - 1) && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* The fields of a joint object this decoder reads; other keys are skipped (msgspec
   ignores keys a Struct does not name). */
typedef enum { F64, I32, STR } Kind;
typedef struct {
    const char *name;
    Py_ssize_t len;
    Kind kind;
} Field;
typedef union {
    double f64;
    int32_t i32;
    struct {
        const char *p;
        Py_ssize_t n;
    } str;
} Value;
#define FIELD(name, kind) {name, sizeof(name) - 1, kind}
static const Field JOINT3[] = {FIELD("x", F64), FIELD("y", F64), FIELD("z", F64),
                               FIELD("num_views_for_3d", I32)};
static const Field JOINT2[] = {FIELD("x", F64), FIELD("y", F64), FIELD("placement", STR)};

/* A joint object -> its fields' values; bit i of *valid is set when field i is there
   and not null. A repeated field fails (msgspec decides). */
static int joint(P *s, const Field *fields, int nfields, Value *v, int *valid) {
    const char *k;
    Py_ssize_t n;
    uint32_t h;
    int seen = 0, nul = 0, r;
    TRY(r = open_obj(s, '{', '}'));
    if (!r) {
        do {
            TRY(key(s, &k, &n, &h));
            int i = 0;
            while (i < nfields && !(fields[i].len == n && memcmp(fields[i].name, k, (size_t)n) == 0)) i++;
            if (i == nfields) {
                TRY(skip(s, 5));
                continue;
            }
            if (seen & (1 << i)) return FAIL;
            seen |= 1 << i;
            if (is_null(s)) {
                nul |= 1 << i;
            } else if (fields[i].kind == F64) {
                TRY(number(s, &v[i].f64));
            } else if (fields[i].kind == I32) {
                TRY(int32(s, &v[i].i32));
            } else {
                TRY(string(s, &v[i].str.p, &v[i].str.n, &h));
            }
        } while ((r = next(s, '}')) == 1);
        TRY(r);
    }
    *valid = seen & ~nul;
    return 0;
}

/* a number column's value for one row (0 where NULL) and its validity bit */
static inline int push_f64(P *s, Buf *col, Valid *vcol, Py_ssize_t row, int ok, double x) {
    MEM(s, put_f64(col, ok ? x : 0.0));
    MEM(s, valid_push(vcol, row, ok));
    return 0;
}

/* {x, y, z, num_views_for_3d} -> one ego_pose_3d row */
static int joint3(P *s, int32_t frame, int32_t idx, const char *jk, Py_ssize_t jn) {
    Table *t = &s->t3;
    Value v[4];
    int ok;
    TRY(joint(s, JOINT3, 4, v, &ok));
    Py_ssize_t row = t->n++;
    MEM(s, put_i32(&t->frame, frame));
    MEM(s, put_i32(&t->idx, idx));
    MEM(s, str_push(&t->joint, jk, jn));
    TRY(push_f64(s, &t->x, &t->vx, row, ok & 1, v[0].f64));
    TRY(push_f64(s, &t->y, &t->vy, row, ok & 2, v[1].f64));
    TRY(push_f64(s, &t->z, &t->vz, row, ok & 4, v[2].f64));
    MEM(s, put_i32(&t->views, (ok & 8) ? v[3].i32 : 0));
    MEM(s, valid_push(&t->vviews, row, ok & 8));
    return 0;
}

/* {x, y, placement} -> one ego_pose_2d row */
static int joint2(P *s, int32_t frame, int32_t idx, const char *ck, Py_ssize_t cn,
                  const char *jk, Py_ssize_t jn) {
    Table *t = &s->t2;
    Value v[3];
    int ok;
    TRY(joint(s, JOINT2, 3, v, &ok));
    Py_ssize_t row = t->n++;
    MEM(s, put_i32(&t->frame, frame));
    MEM(s, put_i32(&t->idx, idx));
    MEM(s, str_push(&t->cam, ck, cn));
    MEM(s, str_push(&t->joint, jk, jn));
    TRY(push_f64(s, &t->x, &t->vx, row, ok & 1, v[0].f64));
    TRY(push_f64(s, &t->y, &t->vy, row, ok & 2, v[1].f64));
    MEM(s, str_push(&t->placement, (ok & 4) ? v[2].str.p : NULL, (ok & 4) ? v[2].str.n : 0));
    MEM(s, valid_push(&t->vplacement, row, ok & 4));
    return 0;
}

static int annotation3d(P *s, int32_t frame, int32_t idx) {
    const char *k;
    Py_ssize_t n;
    uint32_t h;
    int r;
    TRY(r = open_obj(s, '{', '}'));
    if (r) return 0;
    keys_reset(&s->k_joint3);
    do {
        TRY(key(s, &k, &n, &h));
        if (keys_seen(&s->k_joint3, k, n, h)) return FAIL;
        TRY(joint3(s, frame, idx, k, n));
    } while ((r = next(s, '}')) == 1);
    return r;
}

static int add_cam(P *s, const char *k, Py_ssize_t n) {
    for (int i = 0; i < s->ncams; i++)
        if (s->cam_len[i] == n && memcmp(s->cam_ptr[i], k, (size_t)n) == 0) return 0;
    if (s->ncams == MAX_KEYS) return FAIL;
    s->cam_ptr[s->ncams] = k;
    s->cam_len[s->ncams] = n;
    s->ncams++;
    return 0;
}

static int annotation2d(P *s, int32_t frame, int32_t idx) {
    const char *ck, *k;
    Py_ssize_t cn, n;
    uint32_t ch, h;
    int r, rj;
    TRY(r = open_obj(s, '{', '}'));
    if (r) return 0;
    keys_reset(&s->k_cam);
    do {
        TRY(key(s, &ck, &cn, &ch));
        if (keys_seen(&s->k_cam, ck, cn, ch)) return FAIL;
        TRY(rj = open_obj(s, '{', '}'));
        if (rj) continue; /* a camera with no joints: no rows, not listed */
        TRY(add_cam(s, ck, cn));
        keys_reset(&s->k_joint2);
        do {
            TRY(key(s, &k, &n, &h));
            if (keys_seen(&s->k_joint2, k, n, h)) return FAIL;
            TRY(joint2(s, frame, idx, ck, cn, k, n));
        } while ((rj = next(s, '}')) == 1);
        TRY(rj);
    } while ((r = next(s, '}')) == 1);
    return r;
}

/* one element of a frame's list */
static int frame_annotation(P *s, int32_t frame, int32_t idx) {
    const char *k;
    Py_ssize_t n;
    uint32_t h;
    int r, seen = 0;
    TRY(r = open_obj(s, '{', '}'));
    if (r) return 0;
    do {
        TRY(key(s, &k, &n, &h));
        if (KEY_IS(k, n, "annotation3D")) {
            if (seen & 1) return FAIL;
            seen |= 1;
            TRY(annotation3d(s, frame, idx));
        } else if (KEY_IS(k, n, "annotation2D")) {
            if (seen & 2) return FAIL;
            seen |= 2;
            TRY(annotation2d(s, frame, idx));
        } else {
            TRY(skip(s, 3));
        }
    } while ((r = next(s, '}')) == 1);
    return r;
}

/* a frame key: digits, no leading zero, at most 9 of them */
static int frame_key(const char *k, Py_ssize_t n, int32_t *out) {
    if (n < 1 || n > 9 || (n > 1 && k[0] == '0')) return FAIL;
    int32_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!ISDIGIT(k[i])) return FAIL;
        v = v * 10 + (k[i] - '0');
    }
    *out = v;
    return 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int document(P *s) {
    const char *k;
    Py_ssize_t n;
    uint32_t h;
    int r, ri;
    WS(s);
    TRY(r = open_obj(s, '{', '}'));
    if (!r) {
        do {
            int32_t frame;
            TRY(key(s, &k, &n, &h));
            TRY(frame_key(k, n, &frame));
            if (s->frames.len && frame <= s->last_frame) s->frames_sorted = 0;
            s->last_frame = frame;
            MEM(s, put_i32(&s->frames, frame));
            TRY(ri = open_obj(s, '[', ']'));
            if (ri) continue;
            int32_t idx = 0;
            do {
                TRY(frame_annotation(s, frame, idx));
                idx++;
            } while ((ri = next(s, ']')) == 1);
            TRY(ri);
        } while ((r = next(s, '}')) == 1);
        TRY(r);
    }
    WS(s);
    if (s->p != s->end) return FAIL;
    if (!s->frames_sorted) { /* a repeated frame key: msgspec decides */
        Py_ssize_t nf = s->frames.len / 4;
        int32_t *copy = PyMem_RawMalloc((size_t)s->frames.len);
        if (!copy) {
            s->nomem = 1;
            return FAIL;
        }
        memcpy(copy, s->frames.p, (size_t)s->frames.len);
        qsort(copy, (size_t)nf, 4, cmp_i32);
        int dup = 0;
        for (Py_ssize_t i = 1; i < nf; i++)
            if (copy[i] == copy[i - 1]) dup = 1;
        PyMem_RawFree(copy);
        if (dup) return FAIL;
    }
    return 0;
}

/* ------------------------------------------------------------------ to Python */
static PyObject *as_bytes(Buf *b) { return PyBytes_FromStringAndSize(b->p ? b->p : "", b->len); }

static PyObject *validity(Valid *v) {
    if (v->nulls == 0) Py_RETURN_NONE;
    return as_bytes(&v->bits);
}

static int set(PyObject *d, const char *name, PyObject *v) {
    if (!v) return -1;
    int r = PyDict_SetItemString(d, name, v);
    Py_DECREF(v);
    return r;
}

/* a number column: "<name>", and when it has NULLs "<name>_valid" and "<name>_nulls" */
static int set_num(PyObject *d, const char *name, Buf *values, Valid *v) {
    char key[64];
    if (set(d, name, as_bytes(values)) < 0) return -1;
    if (!v) return 0;
    snprintf(key, sizeof key, "%s_valid", name);
    if (set(d, key, validity(v)) < 0) return -1;
    snprintf(key, sizeof key, "%s_nulls", name);
    return set(d, key, PyLong_FromSsize_t(v->nulls));
}

/* a string column: "<name>_offsets", "<name>_data" (and validity as for numbers) */
static int set_str(PyObject *d, const char *name, Str *col, Valid *v) {
    char key[64];
    snprintf(key, sizeof key, "%s_offsets", name);
    if (set(d, key, as_bytes(&col->off)) < 0) return -1;
    snprintf(key, sizeof key, "%s_data", name);
    if (set(d, key, as_bytes(&col->data)) < 0) return -1;
    if (!v) return 0;
    snprintf(key, sizeof key, "%s_valid", name);
    if (set(d, key, validity(v)) < 0) return -1;
    snprintf(key, sizeof key, "%s_nulls", name);
    return set(d, key, PyLong_FromSsize_t(v->nulls));
}

static PyObject *result(P *s) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    Table *t3 = &s->t3, *t2 = &s->t2;
    PyObject *cams = PyTuple_New(s->ncams);
    if (!cams) goto fail;
    for (int i = 0; i < s->ncams; i++) {
        PyObject *c = PyUnicode_DecodeASCII(s->cam_ptr[i], s->cam_len[i], NULL);
        if (!c) {
            Py_DECREF(cams);
            goto fail;
        }
        PyTuple_SET_ITEM(cams, i, c);
    }
    if (set(d, "cams", cams) < 0 || set_num(d, "frames", &s->frames, NULL) < 0 ||
        set(d, "n3", PyLong_FromSsize_t(t3->n)) < 0 || set_num(d, "frame3", &t3->frame, NULL) < 0 ||
        set_num(d, "idx3", &t3->idx, NULL) < 0 || set_str(d, "joint3", &t3->joint, NULL) < 0 ||
        set_num(d, "x3", &t3->x, &t3->vx) < 0 || set_num(d, "y3", &t3->y, &t3->vy) < 0 ||
        set_num(d, "z3", &t3->z, &t3->vz) < 0 || set_num(d, "views3", &t3->views, &t3->vviews) < 0 ||
        set(d, "n2", PyLong_FromSsize_t(t2->n)) < 0 || set_num(d, "frame2", &t2->frame, NULL) < 0 ||
        set_num(d, "idx2", &t2->idx, NULL) < 0 || set_str(d, "cam2", &t2->cam, NULL) < 0 ||
        set_str(d, "joint2", &t2->joint, NULL) < 0 || set_num(d, "x2", &t2->x, &t2->vx) < 0 ||
        set_num(d, "y2", &t2->y, &t2->vy) < 0 || set_str(d, "placement2", &t2->placement, &t2->vplacement) < 0)
        goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* room for the rows a file of this size usually holds (~70 bytes per 2D joint, one
   3D joint per ~8 2D ones), so that the buffers rarely move while they grow */
static int presize(P *s) {
    Py_ssize_t n2 = (s->end - s->p) / 64 + 16, n3 = n2 / 6 + 16;
    Table *t3 = &s->t3, *t2 = &s->t2;
    Buf *b8[] = {&t2->x, &t2->y, &t3->x, &t3->y, &t3->z};
    Py_ssize_t r8[] = {n2, n2, n3, n3, n3};
    Buf *b4[] = {&t2->frame, &t2->idx, &t2->cam.off, &t2->joint.off, &t2->placement.off,
                 &t3->frame, &t3->idx, &t3->joint.off, &t3->views};
    Py_ssize_t r4[] = {n2, n2, n2, n2, n2, n3, n3, n3, n3};
    for (size_t i = 0; i < 5; i++)
        if (grow(b8[i], r8[i] * 8) < 0) return -1;
    for (size_t i = 0; i < 9; i++)
        if (grow(b4[i], r4[i] * 4) < 0) return -1;
    return 0;
}

static PyObject *decode_pose(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "decode_pose() takes bytes");
        return NULL;
    }
    P *s = PyMem_RawCalloc(1, sizeof(P));
    if (!s) return PyErr_NoMemory();
    /* bytes objects end with a NUL, which no rule below accepts (a NUL inside the data
       fails too): no bounds checks needed but for the 8-byte loads, which check */
    s->p = PyBytes_AS_STRING(arg);
    s->end = s->p + PyBytes_GET_SIZE(arg);
    s->frames_sorted = 1;
    PyObject *out = NULL;
    if (table_init(&s->t3) < 0 || table_init(&s->t2) < 0) {
        PyErr_NoMemory();
    } else if (presize(s) < 0) {
        PyErr_NoMemory();
    } else if (document(s) < 0) {
        if (s->nomem)
            PyErr_NoMemory();
        else
            out = Py_NewRef(Py_None);
    } else {
        out = result(s);
    }
    table_free(&s->t3);
    table_free(&s->t2);
    buf_free(&s->frames);
    PyMem_RawFree(s);
    return out;
}

/* Does this platform's long double round m * 10^e the way the fast path assumes?
   Compare against the interpreter's conversion on numbers that stress it. */
static int self_test(void) {
#if LDBL_MANT_DIG != 64
    return 0;
#else
    static const char *cases[] = {
        "0.5444627616206924", "0.0216107254261918", "-1.2733283650451988", "123456.789012345678",
        "9007199254740993", "0.1", "2.2250738585072014e-12", "1.7976931348623157e20",
        "4.9406564584124654e-3", "0.30000000000000004", "1448.9999999999998", "8.589973e9",
        "3.141592653589793238", "1.00000000000000011102230246251565404236316680908203125",
        "9999999999999999999", "7.3177701707893310e+15", "0.000000000000000000000000001",
    };
    use_long_double = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        P s;
        memset(&s, 0, sizeof(s));
        s.p = cases[i];
        s.end = cases[i] + strlen(cases[i]);
        double got;
        if (number(&s, &got) < 0) continue;
        double want = PyOS_string_to_double(cases[i], NULL, NULL);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (memcmp(&got, &want, sizeof(double)) != 0) return 0;
    }
    return 1;
#endif
}

static PyObject *parse_float(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "parse_float() takes bytes");
        return NULL;
    }
    P s;
    memset(&s, 0, sizeof(s));
    s.p = PyBytes_AS_STRING(arg);
    s.end = s.p + PyBytes_GET_SIZE(arg);
    double v;
    if (number(&s, &v) < 0 || s.p != s.end) Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

static PyMethodDef methods[] = {
    {"decode_pose", decode_pose, METH_O,
     "decode_pose(data: bytes) -> dict | None: one body/hand pose file's rows as column "
     "buffers, or None when the Python path must decide."},
    {"parse_float", parse_float, METH_O,
     "parse_float(text: bytes) -> float | None: the fast path's float conversion (for tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_posecols",
                                    "Native column decoder for ego pose files (optional).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__posecols(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    use_long_double = self_test();
    if (PyModule_AddIntConstant(m, "ABI", ABI) < 0 ||
        PyModule_AddStringConstant(m, "SOURCE_SHA256", POSECOLS_SOURCE_SHA256) < 0 ||
        PyModule_AddIntConstant(m, "LONG_DOUBLE", use_long_double) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
