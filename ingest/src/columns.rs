//! Column builders shared by the parsers: structs of strings and lists of strings.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, NullBufferBuilder, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Field, Fields};

/// Fields of a struct whose children are all nullable strings.
pub fn str_fields(names: &[&str]) -> Fields {
    names
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect()
}

/// Builds a nullable struct column of string children plus extra typed children that the
/// owner builds alongside (passed to [`StrStruct::finish`]).
pub struct StrStruct {
    children: Vec<StringBuilder>,
    nulls: NullBufferBuilder,
}

impl StrStruct {
    /// A builder for `n` string children.
    pub fn new(n: usize) -> Self {
        Self {
            children: (0..n).map(|_| StringBuilder::new()).collect(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// Appends one row; `vals` has one entry per string child.
    pub fn append(&mut self, present: bool, vals: &[Option<Cow<'_, str>>]) {
        debug_assert_eq!(vals.len(), self.children.len());
        self.nulls.append(present);
        for (b, v) in self.children.iter_mut().zip(vals) {
            b.append_option(v.as_deref());
        }
    }

    /// Builds the struct array: the string children first, then `extra` children, with
    /// `fields` describing all of them in that order.
    pub fn finish(&mut self, fields: Fields, extra: Vec<ArrayRef>) -> StructArray {
        let mut arrays: Vec<ArrayRef> = self
            .children
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.extend(extra);
        StructArray::new(fields, arrays, self.nulls.finish())
    }
}

/// A list-of-strings column builder.
pub fn str_list_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new())
}

/// Appends an optional list of strings.
pub fn append_str_list(b: &mut ListBuilder<StringBuilder>, vals: Option<&[Cow<'_, str>]>) {
    match vals {
        Some(vs) => {
            for v in vs {
                b.values().append_value(v);
            }
            b.append(true);
        }
        None => b.append(false),
    }
}
