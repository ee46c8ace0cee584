//! Record batches kept on disk instead of in memory while a load reads its file: the rejects
//! and identity links of a delivery of any size, written to their tables only after its facts
//! commit. A spill is an unnamed temporary file in Arrow IPC stream form, so a run that dies
//! leaves nothing behind.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use crate::error::{Error, Result};

/// Batches of one schema written to a temporary file.
pub(crate) struct Spill {
    schema: SchemaRef,
    writer: StreamWriter<BufWriter<File>>,
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
        let writer = StreamWriter::try_new(BufWriter::new(file), &schema)?;
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
        Ok(self.writer.write(batch)?)
    }

    /// Rows written so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The batches written, read back one at a time.
    pub(crate) fn into_stream(mut self) -> Result<SendableRecordBatchStream> {
        let io_error = |source| Error::Io {
            path: format!("temporary file for {}", self.what),
            source,
        };
        self.writer.finish()?;
        let mut file = self
            .writer
            .into_inner()?
            .into_inner()
            .map_err(|e| io_error(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        let reader = StreamReader::try_new(BufReader::new(file), None)?;
        let batches = futures::stream::iter(
            reader.map(|batch| batch.map_err(|e| DataFusionError::ArrowError(Box::new(e), None))),
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema,
            batches,
        )))
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
        for start in [0i64, 3, 6] {
            let values = Int64Array::from_iter_values(start..start + 3);
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap();
            spill.push(&batch).unwrap();
        }
        assert_eq!(spill.rows(), 9);
        let batches: Vec<RecordBatch> = spill.into_stream().unwrap().try_collect().await.unwrap();
        let values: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(values, (0..9).collect::<Vec<_>>());
    }
}
