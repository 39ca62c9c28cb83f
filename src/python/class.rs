//! Python classes for Rust values, one type object per interpreter.
//!
//! pyo3's `#[pyclass]` keeps one type object for the whole process, made in
//! whichever interpreter asks first and used by all; an interpreter with its
//! own GIL may share no object with another (ARCHITECTURE.md §10). So each
//! class we define is a heap type (`PyType_FromSpec`) made anew in every
//! interpreter, held by that interpreter's [`Types`] (owned by its record in
//! `interp`, found by [`Types::current`]). An instance is the object header
//! followed by a `RefCell` of the Rust value; methods and slots are C
//! functions behind pyo3's trampolines (which catch panics and make pyo3
//! count the thread as attached), and receive `self` from CPython, which
//! has checked its type (the types allow no subclass).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use std::cell::{Cell, RefCell, RefMut};
use std::ffi::{CStr, c_int, c_void};

/// The classes we define (an index into [`Types`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassId {
    LogBuffer,
    Input,
    FileWrapper,
    StartResponse,
    Write,
    ErrorsCache,
    EnvironKeys,
}

const CLASSES: usize = 7;

/// A Rust value Python sees as an instance of a per-interpreter class.
pub trait Class: Sized + 'static {
    /// `module.Name`.
    const NAME: &'static CStr;
    const ID: ClassId;
    /// Whether Python code may call the class (then `slots` has `Py_tp_new`).
    const INSTANTIABLE: bool = false;
    /// The type's slots but `Py_tp_dealloc` (methods, call, iteration...).
    fn slots() -> Vec<ffi::PyType_Slot>;
}

#[repr(C)]
struct Instance<T> {
    ob_base: ffi::PyObject,
    value: RefCell<T>,
}

/// A fastcall method's arguments as CPython passes them: the argument
/// vector, its positional count and the keyword names.
pub type Fast = (
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
);

/// The `Py_tp_iter` and `Py_tp_iternext` slots of an iterator class, from
/// its `iter(py, slf)` and `next(py, slf)` functions (behind pyo3's
/// trampolines).
macro_rules! iterator_slots {
    ($iter:ident, $next:ident) => {
        [
            $crate::python::class::slot(
                pyo3::ffi::Py_tp_iter,
                pyo3::get_trampoline_function!(getiterfunc, $iter) as *mut std::ffi::c_void,
            ),
            $crate::python::class::slot(
                pyo3::ffi::Py_tp_iternext,
                pyo3::get_trampoline_function!(iternextfunc, $next) as *mut std::ffi::c_void,
            ),
        ]
    };
}
pub(crate) use iterator_slots;

/// A `PyMethodDef` table (ending with a zeroed entry) kept in a static.
#[repr(transparent)]
pub struct Methods<const N: usize>(pub [ffi::PyMethodDef; N]);

// SAFETY: the table is immutable C data (names and function pointers);
// CPython only reads it.
unsafe impl<const N: usize> Sync for Methods<N> {}

impl<const N: usize> Methods<N> {
    /// The `Py_tp_methods` slot for this table.
    pub fn slot(&'static self) -> ffi::PyType_Slot {
        slot(ffi::Py_tp_methods, self.0.as_ptr() as *mut c_void)
    }
}

/// A `PyGetSetDef` table (ending with [`GetSet::END`]) kept in a static.
#[repr(transparent)]
pub struct GetSet<const N: usize>(pub [ffi::PyGetSetDef; N]);

// SAFETY: immutable C data, as `Methods`.
unsafe impl<const N: usize> Sync for GetSet<N> {}

impl<const N: usize> GetSet<N> {
    pub const END: ffi::PyGetSetDef = ffi::PyGetSetDef {
        name: std::ptr::null(),
        get: None,
        set: None,
        doc: std::ptr::null(),
        closure: std::ptr::null_mut(),
    };
    /// The `Py_tp_getset` slot for this table.
    pub fn slot(&'static self) -> ffi::PyType_Slot {
        slot(ffi::Py_tp_getset, self.0.as_ptr() as *mut c_void)
    }
}

/// A read-only attribute.
pub const fn getter(name: &'static CStr, get: ffi::getter) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(get),
        set: None,
        doc: std::ptr::null(),
        closure: std::ptr::null_mut(),
    }
}

/// A `PyMethodDef` for a fastcall-with-keywords C function.
pub const fn method(name: &'static CStr, f: ffi::PyCFunctionFastWithKeywords) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: f,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: std::ptr::null(),
    }
}

/// A type slot.
pub fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

unsafe extern "C" fn dealloc<T: Class>(obj: *mut ffi::PyObject) {
    // A panic must not leave this C entry point.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: CPython deallocates an instance of a type made by
        // `make_type::<T>`, so `obj` has `Instance<T>`'s layout, with the
        // value written by `new_instance`; nothing uses it after this.
        unsafe {
            let ty = ffi::Py_TYPE(obj);
            std::ptr::drop_in_place(&mut (*obj.cast::<Instance<T>>()).value);
            let free = ffi::PyType_GetSlot(ty, ffi::Py_tp_free);
            let free: ffi::freefunc = std::mem::transmute(free);
            free(obj.cast());
            // Instances of heap types hold a reference to their type.
            ffi::Py_DECREF(ty.cast());
        }
    });
}

/// Makes `T`'s type in the current interpreter (GIL held); a new reference.
fn make_type<T: Class>(_py: Python<'_>) -> PyResult<*mut ffi::PyTypeObject> {
    let mut slots = T::slots();
    slots.push(slot(ffi::Py_tp_dealloc, dealloc::<T> as *mut c_void));
    slots.push(slot(0, std::ptr::null_mut()));
    let mut flags = ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_IMMUTABLETYPE;
    if !T::INSTANTIABLE {
        flags |= ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    }
    let mut spec = ffi::PyType_Spec {
        name: T::NAME.as_ptr(),
        basicsize: std::mem::size_of::<Instance<T>>() as c_int,
        itemsize: 0,
        flags: flags as _,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: GIL held; CPython copies what it needs from the spec and
    // slots (the method tables they point to are static).
    let ty = unsafe { ffi::PyType_FromSpec(&mut spec) };
    if ty.is_null() {
        return Err(PyErr::fetch(_py));
    }
    Ok(ty.cast())
}

/// Creates an instance of `T`'s type `ty` holding `value` (GIL held).
///
/// # Safety
/// `ty` must be a live type made by `make_type::<T>` in the current interpreter.
pub unsafe fn new_instance<'py, T: Class>(
    py: Python<'py>,
    ty: *mut ffi::PyTypeObject,
    value: T,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: GIL held; `ty` is a live type made by `make_type::<T>` (the
    // caller's contract), whose basic size fits `Instance<T>`.
    unsafe {
        let obj = ffi::PyType_GenericAlloc(ty, 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        std::ptr::write(&mut (*obj.cast::<Instance<T>>()).value, RefCell::new(value));
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

/// Creates an instance of `T` in the current interpreter.
pub fn new<T: Class>(py: Python<'_>, value: T) -> PyResult<Bound<'_, PyAny>> {
    let ty = Types::current(py)?.get(T::ID);
    // SAFETY: the current interpreter's type for `T`.
    unsafe { new_instance(py, ty, value) }
}

/// The value of `obj`, an instance of `T`'s type, mutably borrowed; a
/// `RuntimeError` if a call on it is already running (re-entered).
///
/// # Safety
/// `obj` must be an instance of a type made by `make_type::<T>` (as
/// `self` of that type's methods and slots is), live for `'a`.
pub unsafe fn borrow<'a, T: Class>(obj: *mut ffi::PyObject) -> PyResult<RefMut<'a, T>> {
    // SAFETY: the caller's contract.
    let cell = unsafe { &(*obj.cast::<Instance<T>>()).value };
    cell.try_borrow_mut().map_err(|_| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "{} object is already in use",
            T::NAME.to_string_lossy()
        ))
    })
}

/// `obj`'s value if `obj` is an instance of `T` in the current interpreter.
pub fn downcast<'a, T: Class>(obj: &'a Bound<'_, PyAny>) -> PyResult<Option<RefMut<'a, T>>> {
    let ty = Types::current(obj.py())?.get(T::ID);
    // SAFETY: reading the type pointer of a live object.
    if unsafe { ffi::Py_TYPE(obj.as_ptr()) } != ty {
        return Ok(None);
    }
    // SAFETY: `obj` is an instance of `T`'s type (checked above), alive while borrowed.
    unsafe { borrow::<T>(obj.as_ptr()) }.map(Some)
}

/// A `PyResult` for a method returning nothing: `None`, a new reference.
pub fn none() -> PyResult<*mut ffi::PyObject> {
    // SAFETY: Py_None is immortal/static; a new reference to it.
    unsafe {
        let none = ffi::Py_None();
        ffi::Py_INCREF(none);
        Ok(none)
    }
}

/// The arguments of a fastcall method, by position or keyword, for the
/// parameters `names` (the first `required` are required).
///
/// # Safety
/// The pointers are a fastcall call's (`args[..nargs]`, then one value per
/// name in `kwnames`), valid for the call.
pub unsafe fn fastcall_args<'py, const N: usize>(
    py: Python<'py>,
    func: &str,
    names: [&str; N],
    required: usize,
    call: (
        *const *mut ffi::PyObject,
        ffi::Py_ssize_t,
        *mut ffi::PyObject,
    ),
) -> PyResult<[Option<Bound<'py, PyAny>>; N]> {
    let (args, nargs, kwnames) = call;
    let mut out: [Option<Bound<'py, PyAny>>; N] = std::array::from_fn(|_| None);
    let nargs = nargs as usize;
    let arg = |i: usize| {
        // SAFETY: `i` is within the call's arguments (the caller's contract).
        unsafe { Bound::from_borrowed_ptr(py, *args.add(i)) }
    };
    if nargs > N {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{func}() takes at most {N} argument{} ({nargs} given)",
            if N == 1 { "" } else { "s" }
        )));
    }
    for (i, slot) in out.iter_mut().enumerate().take(nargs) {
        *slot = Some(arg(i));
    }
    if !kwnames.is_null() {
        // SAFETY: `kwnames` is the call's tuple of keyword names.
        let kw = unsafe { Bound::from_borrowed_ptr(py, kwnames) };
        let kw = kw.cast::<PyTuple>()?;
        for (j, key) in kw.iter().enumerate() {
            let key: String = key.extract()?;
            let Some(i) = names.iter().position(|n| *n == key) else {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{func}() got an unexpected keyword argument '{key}'"
                )));
            };
            if out[i].is_some() {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{func}() got multiple values for argument '{key}'"
                )));
            }
            out[i] = Some(arg(nargs + j));
        }
    }
    if let Some(missing) = names[..required]
        .iter()
        .zip(&out)
        .find(|(_, v)| v.is_none())
    {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{func}() missing required argument '{}'",
            missing.0
        )));
    }
    Ok(out)
}

/// The arguments of a `tp_call`/`tp_new` (a tuple and a dict or NULL),
/// turned into the fastcall form [`fastcall_args`] takes.
///
/// # Safety
/// `args` is a live tuple and `kwargs` a live dict or NULL.
pub unsafe fn call_args<'py, const N: usize>(
    py: Python<'py>,
    func: &str,
    names: [&str; N],
    required: usize,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<[Option<Bound<'py, PyAny>>; N]> {
    // SAFETY: the caller's contract.
    let args = unsafe { Bound::from_borrowed_ptr(py, args) };
    let mut all: Vec<*mut ffi::PyObject> =
        args.cast::<PyTuple>()?.iter().map(|a| a.as_ptr()).collect();
    let nargs = all.len();
    let mut keys = Vec::new();
    if !kwargs.is_null() {
        // SAFETY: as above.
        let kwargs = unsafe { Bound::from_borrowed_ptr(py, kwargs) };
        for (k, v) in kwargs.cast::<pyo3::types::PyDict>()?.iter() {
            all.push(v.as_ptr());
            keys.push(k);
        }
    }
    let kwnames = PyTuple::new(py, keys)?;
    let kw = if kwnames.is_empty() {
        std::ptr::null_mut()
    } else {
        kwnames.as_ptr()
    };
    // SAFETY: `all` holds the positional then keyword values, borrowed
    // from `args`/`kwargs`, which outlive this call; the results are new
    // references (`from_borrowed_ptr`).
    unsafe { fastcall_args(py, func, names, required, (all.as_ptr(), nargs as _, kw)) }
}

/// A strong reference held by a class's value, released with `Py_DECREF`
/// when the value is dropped. A `Py<T>` would not do: CPython deallocates
/// instances also where pyo3 does not count the thread as attached (an
/// interpreter's teardown), and pyo3 would then defer the decref to its
/// process-wide pool, to be applied in whichever interpreter attaches next.
pub struct Strong(*mut ffi::PyObject);

impl Strong {
    pub fn new(obj: &Bound<'_, PyAny>) -> Strong {
        Strong(obj.clone().into_ptr())
    }
    /// The object, as a new reference.
    pub fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: a live object we hold a reference to (the GIL is held: `py`).
        unsafe { Bound::from_borrowed_ptr(py, self.0) }
    }
}

impl Drop for Strong {
    fn drop(&mut self) {
        // SAFETY: values holding a `Strong` live in instances of our
        // classes, dropped by `dealloc` (or, never made into one, in the
        // Python call that built them), with the GIL of their interpreter held.
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

/// The classes of one interpreter: a strong reference to each type.
pub struct Types {
    interp: *mut ffi::PyInterpreterState,
    types: [*mut ffi::PyTypeObject; CLASSES],
}

// SAFETY: the pointers are only used with the GIL of their interpreter held.
unsafe impl Send for Types {}
// SAFETY: as above; the table is immutable once made.
unsafe impl Sync for Types {}

/// How to make one class's type.
pub type Maker = fn(Python<'_>) -> PyResult<*mut ffi::PyTypeObject>;

/// [`Maker`] for `T`.
pub const fn maker<T: Class>() -> (ClassId, Maker) {
    (T::ID, make_type::<T>)
}

/// The key under which an interpreter's dict holds its `Types` (a capsule).
const KEY: &CStr = c"mod_wsgi_rs.types";

thread_local! {
    /// The interpreter this thread last looked its types up in, and them.
    static CACHE: Cell<(*mut ffi::PyInterpreterState, *const Types)> =
        const { Cell::new((std::ptr::null_mut(), std::ptr::null())) };
}

impl Types {
    /// Makes every class in the current interpreter (GIL held, nothing
    /// but the interpreter's start-up running in it yet). The result is
    /// published with [`Types::publish`] once it has its final address.
    pub fn make(py: Python<'_>, makers: &[(ClassId, Maker)]) -> PyResult<Types> {
        // SAFETY: GIL held with a thread state of this interpreter current.
        let interp = unsafe { ffi::PyInterpreterState_Get() };
        let mut types = [std::ptr::null_mut(); CLASSES];
        for (id, make) in makers {
            types[*id as usize] = make(py)?;
        }
        if types.iter().any(|t| t.is_null()) {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "a mod_wsgi class has no type in this interpreter",
            ));
        }
        Ok(Types { interp, types })
    }

    /// Records `self` in its interpreter's dict, where [`Types::current`]
    /// finds it (GIL held, in that interpreter; `self` lives as long).
    pub fn publish(&'static self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: GIL held in `self.interp`; the capsule holds a plain
        // pointer to a `'static` table (no destructor).
        unsafe {
            let dict = ffi::PyInterpreterState_GetDict(self.interp);
            let capsule =
                ffi::PyCapsule_New((self as *const Types).cast_mut().cast(), KEY.as_ptr(), None);
            if dict.is_null() || capsule.is_null() {
                return Err(PyErr::fetch(py));
            }
            let rc = ffi::PyDict_SetItemString(dict, KEY.as_ptr(), capsule);
            ffi::Py_DECREF(capsule);
            if rc != 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(())
    }

    /// The types of the interpreter this thread runs in (GIL held).
    pub fn current(py: Python<'_>) -> PyResult<&'static Types> {
        // SAFETY: GIL held, so a thread state is current.
        let interp = unsafe { ffi::PyInterpreterState_Get() };
        let (cached, types) = CACHE.with(Cell::get);
        if cached == interp && !types.is_null() {
            // SAFETY: published tables are `'static`.
            return Ok(unsafe { &*types });
        }
        // SAFETY: GIL held in `interp`; a borrowed lookup in its dict.
        let types = unsafe {
            let dict = ffi::PyInterpreterState_GetDict(interp);
            let capsule = if dict.is_null() {
                std::ptr::null_mut()
            } else {
                ffi::PyDict_GetItemString(dict, KEY.as_ptr())
            };
            if capsule.is_null() {
                std::ptr::null()
            } else {
                ffi::PyCapsule_GetPointer(capsule, KEY.as_ptr()) as *const Types
            }
        };
        if types.is_null() {
            let _ = py;
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "mod_wsgi's classes are not set up in this interpreter",
            ));
        }
        CACHE.with(|c| c.set((interp, types)));
        // SAFETY: as above.
        Ok(unsafe { &*types })
    }

    /// The type of class `id` (a borrowed reference).
    pub fn get(&self, id: ClassId) -> *mut ffi::PyTypeObject {
        self.types[id as usize]
    }

    /// Class `id` as a Python object.
    pub fn class<'py>(&self, py: Python<'py>, id: ClassId) -> Bound<'py, PyType> {
        // SAFETY: a live type of this interpreter (the GIL is held in it).
        unsafe { Bound::from_borrowed_ptr(py, self.get(id).cast()).cast_into_unchecked() }
    }
}
