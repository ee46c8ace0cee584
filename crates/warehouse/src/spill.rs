//! Record batches kept on disk instead of in memory while a load reads its file: the rejects
//! and identity links of a delivery of any size, written to their tables only after its facts
//! commit. A spill is an unnamed temporary file (gone with the process if it dies) in Parquet
//! form, compressed with Zstandard: identity links are hex text, which halves.

use std::fs::File;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// Rows of a spill's row group: what its writer holds in memory before writing.
const SPILL_ROW_GROUP_ROWS: usize = 16_384;

/// Batches of one schema written to a temporary file.
pub(crate) struct Spill {
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    rows: u64,
    what: &'static str,
}

impl Spill {
    /// An empty spill of `what` (named in errors) in the system temporary directory.
    pub(crate) fn new(what: &'static str, schema: SchemaRef) -> Result<Self> {
        let file = tempfile::tempfile().map_err(|source| Error::Io {
            path: format!("temporary file for {what}"),
            source,
        })?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            // Pseudonyms are nearly all distinct: a dictionary would only cost time.
            .set_dictionary_enabled(false)
            .set_max_row_group_row_count(Some(SPILL_ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|e| spill_error(what, e))?;
        Ok(Self {
            schema,
            writer,
            rows: 0,
            what,
        })
    }

    /// Appends a batch.
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| spill_error(self.what, e))
    }

    /// Rows written so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The batches written, read back one at a time.
    pub(crate) fn into_stream(self) -> Result<SendableRecordBatchStream> {
        let what = self.what;
        let file = self.writer.into_inner().map_err(|e| spill_error(what, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.build())
            .map_err(|e| spill_error(what, e))?;
        let batches = futures::stream::iter(
            reader.map(|batch| batch.map_err(|e| DataFusionError::ArrowError(Box::new(e), None))),
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema,
            batches,
        )))
    }
}

fn spill_error(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::TempFile {
        what,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn batches_come_back_in_order() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let mut spill = Spill::new("test", Arc::clone(&schema)).unwrap();
        for start in (0..200_000i64).step_by(50_000) {
            let values = Int64Array::from_iter_values(start..start + 50_000);
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap();
            spill.push(&batch).unwrap();
        }
        assert_eq!(spill.rows(), 200_000);
        let batches: Vec<RecordBatch> = spill.into_stream().unwrap().try_collect().await.unwrap();
        let values: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(values, (0..200_000).collect::<Vec<_>>());
    }
}
