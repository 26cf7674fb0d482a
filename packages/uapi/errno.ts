/**
 * Linux errno numbers (x86_64, asm-generic) with their names and messages, and
 * {@linkcode ErrnoError}, the one error type for kernel failures at API edges.
 *
 * Inside the model kernel errors travel as negative errno in `cqe.res`, as the
 * kernel does; they are thrown only at API edges.
 *
 * @example Turn a negative CQE result into an error
 * ```ts
 * import assert from "node:assert/strict";
 * import { EINVAL, errnoName, ErrnoError } from "@ublk-ts/uapi";
 * assert.equal(errnoName(EINVAL), "EINVAL");
 * const err = ErrnoError.fromResult(-EINVAL);
 * assert.equal(err.code, "EINVAL");
 * assert.equal(err.toResult(), -22);
 * ```
 *
 * @module
 */

/** One row of the errno table: number, name, message. */
export type ErrnoRow = readonly [errno: number, name: string, message: string];

/** Every errno of `asm-generic/errno-base.h` and `asm-generic/errno.h`, with glibc's message. */
export const ERRNO_TABLE: readonly ErrnoRow[] = [
  [1, "EPERM", "Operation not permitted"],
  [2, "ENOENT", "No such file or directory"],
  [3, "ESRCH", "No such process"],
  [4, "EINTR", "Interrupted system call"],
  [5, "EIO", "Input/output error"],
  [6, "ENXIO", "No such device or address"],
  [7, "E2BIG", "Argument list too long"],
  [8, "ENOEXEC", "Exec format error"],
  [9, "EBADF", "Bad file descriptor"],
  [10, "ECHILD", "No child processes"],
  [11, "EAGAIN", "Resource temporarily unavailable"],
  [12, "ENOMEM", "Cannot allocate memory"],
  [13, "EACCES", "Permission denied"],
  [14, "EFAULT", "Bad address"],
  [15, "ENOTBLK", "Block device required"],
  [16, "EBUSY", "Device or resource busy"],
  [17, "EEXIST", "File exists"],
  [18, "EXDEV", "Invalid cross-device link"],
  [19, "ENODEV", "No such device"],
  [20, "ENOTDIR", "Not a directory"],
  [21, "EISDIR", "Is a directory"],
  [22, "EINVAL", "Invalid argument"],
  [23, "ENFILE", "Too many open files in system"],
  [24, "EMFILE", "Too many open files"],
  [25, "ENOTTY", "Inappropriate ioctl for device"],
  [26, "ETXTBSY", "Text file busy"],
  [27, "EFBIG", "File too large"],
  [28, "ENOSPC", "No space left on device"],
  [29, "ESPIPE", "Illegal seek"],
  [30, "EROFS", "Read-only file system"],
  [31, "EMLINK", "Too many links"],
  [32, "EPIPE", "Broken pipe"],
  [33, "EDOM", "Numerical argument out of domain"],
  [34, "ERANGE", "Numerical result out of range"],
  [35, "EDEADLK", "Resource deadlock avoided"],
  [36, "ENAMETOOLONG", "File name too long"],
  [37, "ENOLCK", "No locks available"],
  [38, "ENOSYS", "Function not implemented"],
  [39, "ENOTEMPTY", "Directory not empty"],
  [40, "ELOOP", "Too many levels of symbolic links"],
  [42, "ENOMSG", "No message of desired type"],
  [43, "EIDRM", "Identifier removed"],
  [44, "ECHRNG", "Channel number out of range"],
  [45, "EL2NSYNC", "Level 2 not synchronized"],
  [46, "EL3HLT", "Level 3 halted"],
  [47, "EL3RST", "Level 3 reset"],
  [48, "ELNRNG", "Link number out of range"],
  [49, "EUNATCH", "Protocol driver not attached"],
  [50, "ENOCSI", "No CSI structure available"],
  [51, "EL2HLT", "Level 2 halted"],
  [52, "EBADE", "Invalid exchange"],
  [53, "EBADR", "Invalid request descriptor"],
  [54, "EXFULL", "Exchange full"],
  [55, "ENOANO", "No anode"],
  [56, "EBADRQC", "Invalid request code"],
  [57, "EBADSLT", "Invalid slot"],
  [59, "EBFONT", "Bad font file format"],
  [60, "ENOSTR", "Device not a stream"],
  [61, "ENODATA", "No data available"],
  [62, "ETIME", "Timer expired"],
  [63, "ENOSR", "Out of streams resources"],
  [64, "ENONET", "Machine is not on the network"],
  [65, "ENOPKG", "Package not installed"],
  [66, "EREMOTE", "Object is remote"],
  [67, "ENOLINK", "Link has been severed"],
  [68, "EADV", "Advertise error"],
  [69, "ESRMNT", "Srmount error"],
  [70, "ECOMM", "Communication error on send"],
  [71, "EPROTO", "Protocol error"],
  [72, "EMULTIHOP", "Multihop attempted"],
  [73, "EDOTDOT", "RFS specific error"],
  [74, "EBADMSG", "Bad message"],
  [75, "EOVERFLOW", "Value too large for defined data type"],
  [76, "ENOTUNIQ", "Name not unique on network"],
  [77, "EBADFD", "File descriptor in bad state"],
  [78, "EREMCHG", "Remote address changed"],
  [79, "ELIBACC", "Can not access a needed shared library"],
  [80, "ELIBBAD", "Accessing a corrupted shared library"],
  [81, "ELIBSCN", ".lib section in a.out corrupted"],
  [82, "ELIBMAX", "Attempting to link in too many shared libraries"],
  [83, "ELIBEXEC", "Cannot exec a shared library directly"],
  [84, "EILSEQ", "Invalid or incomplete multibyte or wide character"],
  [85, "ERESTART", "Interrupted system call should be restarted"],
  [86, "ESTRPIPE", "Streams pipe error"],
  [87, "EUSERS", "Too many users"],
  [88, "ENOTSOCK", "Socket operation on non-socket"],
  [89, "EDESTADDRREQ", "Destination address required"],
  [90, "EMSGSIZE", "Message too long"],
  [91, "EPROTOTYPE", "Protocol wrong type for socket"],
  [92, "ENOPROTOOPT", "Protocol not available"],
  [93, "EPROTONOSUPPORT", "Protocol not supported"],
  [94, "ESOCKTNOSUPPORT", "Socket type not supported"],
  [95, "EOPNOTSUPP", "Operation not supported"],
  [96, "EPFNOSUPPORT", "Protocol family not supported"],
  [97, "EAFNOSUPPORT", "Address family not supported by protocol"],
  [98, "EADDRINUSE", "Address already in use"],
  [99, "EADDRNOTAVAIL", "Cannot assign requested address"],
  [100, "ENETDOWN", "Network is down"],
  [101, "ENETUNREACH", "Network is unreachable"],
  [102, "ENETRESET", "Network dropped connection on reset"],
  [103, "ECONNABORTED", "Software caused connection abort"],
  [104, "ECONNRESET", "Connection reset by peer"],
  [105, "ENOBUFS", "No buffer space available"],
  [106, "EISCONN", "Transport endpoint is already connected"],
  [107, "ENOTCONN", "Transport endpoint is not connected"],
  [108, "ESHUTDOWN", "Cannot send after transport endpoint shutdown"],
  [109, "ETOOMANYREFS", "Too many references: cannot splice"],
  [110, "ETIMEDOUT", "Connection timed out"],
  [111, "ECONNREFUSED", "Connection refused"],
  [112, "EHOSTDOWN", "Host is down"],
  [113, "EHOSTUNREACH", "No route to host"],
  [114, "EALREADY", "Operation already in progress"],
  [115, "EINPROGRESS", "Operation now in progress"],
  [116, "ESTALE", "Stale file handle"],
  [117, "EUCLEAN", "Structure needs cleaning"],
  [118, "ENOTNAM", "Not a XENIX named type file"],
  [119, "ENAVAIL", "No XENIX semaphores available"],
  [120, "EISNAM", "Is a named type file"],
  [121, "EREMOTEIO", "Remote I/O error"],
  [122, "EDQUOT", "Disk quota exceeded"],
  [123, "ENOMEDIUM", "No medium found"],
  [124, "EMEDIUMTYPE", "Wrong medium type"],
  [125, "ECANCELED", "Operation canceled"],
  [126, "ENOKEY", "Required key not available"],
  [127, "EKEYEXPIRED", "Key has expired"],
  [128, "EKEYREVOKED", "Key has been revoked"],
  [129, "EKEYREJECTED", "Key was rejected by service"],
  [130, "EOWNERDEAD", "Owner died"],
  [131, "ENOTRECOVERABLE", "State not recoverable"],
  [132, "ERFKILL", "Operation not possible due to RF-kill"],
  [133, "EHWPOISON", "Memory page has hardware error"],
];

const BY_NUMBER: Map<number, ErrnoRow> = new Map(ERRNO_TABLE.map((r) => [r[0], r]));
const BY_NAME: Map<string, ErrnoRow> = new Map(ERRNO_TABLE.map((r) => [r[1], r]));
BY_NAME.set("EWOULDBLOCK", BY_NAME.get("EAGAIN")!);
BY_NAME.set("EDEADLOCK", BY_NAME.get("EDEADLK")!);

/** `EPERM` (1). */
export const EPERM = 1;
/** `ENOENT` (2). */
export const ENOENT = 2;
/** `ESRCH` (3). */
export const ESRCH = 3;
/** `EINTR` (4). */
export const EINTR = 4;
/** `EIO` (5). */
export const EIO = 5;
/** `ENXIO` (6). */
export const ENXIO = 6;
/** `E2BIG` (7). */
export const E2BIG = 7;
/** `ENOEXEC` (8). */
export const ENOEXEC = 8;
/** `EBADF` (9). */
export const EBADF = 9;
/** `ECHILD` (10). */
export const ECHILD = 10;
/** `EAGAIN` (11). */
export const EAGAIN = 11;
/** `ENOMEM` (12). */
export const ENOMEM = 12;
/** `EACCES` (13). */
export const EACCES = 13;
/** `EFAULT` (14). */
export const EFAULT = 14;
/** `ENOTBLK` (15). */
export const ENOTBLK = 15;
/** `EBUSY` (16). */
export const EBUSY = 16;
/** `EEXIST` (17). */
export const EEXIST = 17;
/** `EXDEV` (18). */
export const EXDEV = 18;
/** `ENODEV` (19). */
export const ENODEV = 19;
/** `ENOTDIR` (20). */
export const ENOTDIR = 20;
/** `EISDIR` (21). */
export const EISDIR = 21;
/** `EINVAL` (22). */
export const EINVAL = 22;
/** `ENFILE` (23). */
export const ENFILE = 23;
/** `EMFILE` (24). */
export const EMFILE = 24;
/** `ENOTTY` (25). */
export const ENOTTY = 25;
/** `ETXTBSY` (26). */
export const ETXTBSY = 26;
/** `EFBIG` (27). */
export const EFBIG = 27;
/** `ENOSPC` (28). */
export const ENOSPC = 28;
/** `ESPIPE` (29). */
export const ESPIPE = 29;
/** `EROFS` (30). */
export const EROFS = 30;
/** `EMLINK` (31). */
export const EMLINK = 31;
/** `EPIPE` (32). */
export const EPIPE = 32;
/** `EDOM` (33). */
export const EDOM = 33;
/** `ERANGE` (34). */
export const ERANGE = 34;
/** `EDEADLK` (35). */
export const EDEADLK = 35;
/** `ENAMETOOLONG` (36). */
export const ENAMETOOLONG = 36;
/** `ENOLCK` (37). */
export const ENOLCK = 37;
/** `ENOSYS` (38). */
export const ENOSYS = 38;
/** `ENOTEMPTY` (39). */
export const ENOTEMPTY = 39;
/** `ELOOP` (40). */
export const ELOOP = 40;
/** `ENOMSG` (42). */
export const ENOMSG = 42;
/** `EIDRM` (43). */
export const EIDRM = 43;
/** `ECHRNG` (44). */
export const ECHRNG = 44;
/** `EL2NSYNC` (45). */
export const EL2NSYNC = 45;
/** `EL3HLT` (46). */
export const EL3HLT = 46;
/** `EL3RST` (47). */
export const EL3RST = 47;
/** `ELNRNG` (48). */
export const ELNRNG = 48;
/** `EUNATCH` (49). */
export const EUNATCH = 49;
/** `ENOCSI` (50). */
export const ENOCSI = 50;
/** `EL2HLT` (51). */
export const EL2HLT = 51;
/** `EBADE` (52). */
export const EBADE = 52;
/** `EBADR` (53). */
export const EBADR = 53;
/** `EXFULL` (54). */
export const EXFULL = 54;
/** `ENOANO` (55). */
export const ENOANO = 55;
/** `EBADRQC` (56). */
export const EBADRQC = 56;
/** `EBADSLT` (57). */
export const EBADSLT = 57;
/** `EBFONT` (59). */
export const EBFONT = 59;
/** `ENOSTR` (60). */
export const ENOSTR = 60;
/** `ENODATA` (61). */
export const ENODATA = 61;
/** `ETIME` (62). */
export const ETIME = 62;
/** `ENOSR` (63). */
export const ENOSR = 63;
/** `ENONET` (64). */
export const ENONET = 64;
/** `ENOPKG` (65). */
export const ENOPKG = 65;
/** `EREMOTE` (66). */
export const EREMOTE = 66;
/** `ENOLINK` (67). */
export const ENOLINK = 67;
/** `EADV` (68). */
export const EADV = 68;
/** `ESRMNT` (69). */
export const ESRMNT = 69;
/** `ECOMM` (70). */
export const ECOMM = 70;
/** `EPROTO` (71). */
export const EPROTO = 71;
/** `EMULTIHOP` (72). */
export const EMULTIHOP = 72;
/** `EDOTDOT` (73). */
export const EDOTDOT = 73;
/** `EBADMSG` (74). */
export const EBADMSG = 74;
/** `EOVERFLOW` (75). */
export const EOVERFLOW = 75;
/** `ENOTUNIQ` (76). */
export const ENOTUNIQ = 76;
/** `EBADFD` (77). */
export const EBADFD = 77;
/** `EREMCHG` (78). */
export const EREMCHG = 78;
/** `ELIBACC` (79). */
export const ELIBACC = 79;
/** `ELIBBAD` (80). */
export const ELIBBAD = 80;
/** `ELIBSCN` (81). */
export const ELIBSCN = 81;
/** `ELIBMAX` (82). */
export const ELIBMAX = 82;
/** `ELIBEXEC` (83). */
export const ELIBEXEC = 83;
/** `EILSEQ` (84). */
export const EILSEQ = 84;
/** `ERESTART` (85). */
export const ERESTART = 85;
/** `ESTRPIPE` (86). */
export const ESTRPIPE = 86;
/** `EUSERS` (87). */
export const EUSERS = 87;
/** `ENOTSOCK` (88). */
export const ENOTSOCK = 88;
/** `EDESTADDRREQ` (89). */
export const EDESTADDRREQ = 89;
/** `EMSGSIZE` (90). */
export const EMSGSIZE = 90;
/** `EPROTOTYPE` (91). */
export const EPROTOTYPE = 91;
/** `ENOPROTOOPT` (92). */
export const ENOPROTOOPT = 92;
/** `EPROTONOSUPPORT` (93). */
export const EPROTONOSUPPORT = 93;
/** `ESOCKTNOSUPPORT` (94). */
export const ESOCKTNOSUPPORT = 94;
/** `EOPNOTSUPP` (95). */
export const EOPNOTSUPP = 95;
/** `EPFNOSUPPORT` (96). */
export const EPFNOSUPPORT = 96;
/** `EAFNOSUPPORT` (97). */
export const EAFNOSUPPORT = 97;
/** `EADDRINUSE` (98). */
export const EADDRINUSE = 98;
/** `EADDRNOTAVAIL` (99). */
export const EADDRNOTAVAIL = 99;
/** `ENETDOWN` (100). */
export const ENETDOWN = 100;
/** `ENETUNREACH` (101). */
export const ENETUNREACH = 101;
/** `ENETRESET` (102). */
export const ENETRESET = 102;
/** `ECONNABORTED` (103). */
export const ECONNABORTED = 103;
/** `ECONNRESET` (104). */
export const ECONNRESET = 104;
/** `ENOBUFS` (105). */
export const ENOBUFS = 105;
/** `EISCONN` (106). */
export const EISCONN = 106;
/** `ENOTCONN` (107). */
export const ENOTCONN = 107;
/** `ESHUTDOWN` (108). */
export const ESHUTDOWN = 108;
/** `ETOOMANYREFS` (109). */
export const ETOOMANYREFS = 109;
/** `ETIMEDOUT` (110). */
export const ETIMEDOUT = 110;
/** `ECONNREFUSED` (111). */
export const ECONNREFUSED = 111;
/** `EHOSTDOWN` (112). */
export const EHOSTDOWN = 112;
/** `EHOSTUNREACH` (113). */
export const EHOSTUNREACH = 113;
/** `EALREADY` (114). */
export const EALREADY = 114;
/** `EINPROGRESS` (115). */
export const EINPROGRESS = 115;
/** `ESTALE` (116). */
export const ESTALE = 116;
/** `EUCLEAN` (117). */
export const EUCLEAN = 117;
/** `ENOTNAM` (118). */
export const ENOTNAM = 118;
/** `ENAVAIL` (119). */
export const ENAVAIL = 119;
/** `EISNAM` (120). */
export const EISNAM = 120;
/** `EREMOTEIO` (121). */
export const EREMOTEIO = 121;
/** `EDQUOT` (122). */
export const EDQUOT = 122;
/** `ENOMEDIUM` (123). */
export const ENOMEDIUM = 123;
/** `EMEDIUMTYPE` (124). */
export const EMEDIUMTYPE = 124;
/** `ECANCELED` (125). */
export const ECANCELED = 125;
/** `ENOKEY` (126). */
export const ENOKEY = 126;
/** `EKEYEXPIRED` (127). */
export const EKEYEXPIRED = 127;
/** `EKEYREVOKED` (128). */
export const EKEYREVOKED = 128;
/** `EKEYREJECTED` (129). */
export const EKEYREJECTED = 129;
/** `EOWNERDEAD` (130). */
export const EOWNERDEAD = 130;
/** `ENOTRECOVERABLE` (131). */
export const ENOTRECOVERABLE = 131;
/** `ERFKILL` (132). */
export const ERFKILL = 132;
/** `EHWPOISON` (133). */
export const EHWPOISON = 133;
/** `EWOULDBLOCK`, an alias of `EAGAIN`. */
export const EWOULDBLOCK = 11;
/** `EDEADLOCK`, an alias of `EDEADLK`. */
export const EDEADLOCK = 35;

/**
 * The name of a positive or negative errno number ("EINVAL"), or `"E?<n>"` when unknown.
 *
 * @param errno A positive or negative errno.
 * @returns The kernel name.
 *
 * @example Name of a negative result
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoName } from "@ublk-ts/uapi";
 * assert.equal(errnoName(-22), "EINVAL");
 * ```
 */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return BY_NUMBER.get(n)?.[1] ?? `E?${n}`;
}

/**
 * The message of an errno number ("Invalid argument"), as glibc's strerror gives it.
 *
 * @param errno A positive or negative errno.
 * @returns The message, or `"Unknown error <n>"`.
 */
export function errnoMessage(errno: number): string {
  const n = Math.abs(errno);
  return BY_NUMBER.get(n)?.[2] ?? `Unknown error ${n}`;
}

/**
 * The positive number of an errno name.
 *
 * @param name An errno name such as "EINVAL".
 * @returns The number, or `undefined` when the name is unknown.
 */
export function errnoNumber(name: string): number | undefined {
  return BY_NAME.get(name)?.[0];
}

/** Options of {@linkcode ErrnoError}. */
export interface ErrnoErrorOptions extends ErrorOptions {
  /** The operation that failed, such as "io_uring_setup" or "UBLK_U_CMD_ADD_DEV". */
  op?: string;
}

/**
 * A kernel (or model kernel) failure carrying its errno.
 *
 * @example From a CQE result
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrnoError } from "@ublk-ts/uapi";
 * const e = ErrnoError.fromResult(-5, "read");
 * assert.equal(e.code, "EIO");
 * assert.equal(e.toResult(), -5);
 * ```
 */
export class ErrnoError extends Error {
  /** The positive errno. */
  readonly errno: number;
  /** The errno name, such as "EINVAL". */
  readonly code: string;
  /** The operation that failed, if known. */
  readonly op: string | undefined;

  /**
   * Builds an error from a positive or negative errno.
   *
   * @param errno The errno (its sign is ignored).
   * @param options The failed operation and a cause.
   */
  constructor(errno: number, options?: ErrnoErrorOptions) {
    const n = Math.abs(errno);
    const op = options?.op;
    super(
      `${op ? `${op} failed: ` : ""}${errnoMessage(n)} (${errnoName(n)})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ErrnoError";
    this.errno = n;
    this.code = errnoName(n);
    this.op = op;
  }

  /**
   * The error for a negative result such as `cqe.res`.
   *
   * @param res A negative errno.
   * @param op The operation that failed.
   * @returns The error.
   */
  static fromResult(res: number, op?: string): ErrnoError {
    if (res >= 0) throw new RangeError(`Cannot make an ErrnoError: result ${res} is not negative`);
    return new ErrnoError(-res, op === undefined ? undefined : { op });
  }

  /**
   * The negative errno that a request completes with (as libublk's `errno()`).
   *
   * @returns `-errno`.
   */
  toResult(): number {
    return -this.errno;
  }
}
