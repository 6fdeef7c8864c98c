using System;
using System.IO;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// A model directory as Hugging Face publishes one, holding the tiny BERT: model.onnx, a 20-token vocab.txt and,
/// when asked, sentence-transformers' files. Deleted on dispose.
/// </summary>
internal sealed class TinyModelDirectory : IDisposable
{
    /// <summary>The vocabulary, one token per id: the special tokens, then words the test texts are made of.</summary>
    public static readonly string[] Vocabulary =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "away", "a", "big", "red", "ball", "and", "##s",
    };

    public TinyModelDirectory(TinyBertOptions? options = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fsa-tiny-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        Model = new TinyBertModel(options ?? new TinyBertOptions { Layers = 2 });
        File.WriteAllBytes(ModelPath, Model.ToBytes());
        File.WriteAllText(VocabularyPath, string.Join("\n", Vocabulary) + "\n");
    }

    public string Path { get; }

    public TinyBertModel Model { get; }

    public string ModelPath => System.IO.Path.Combine(Path, "model.onnx");

    public string VocabularyPath => System.IO.Path.Combine(Path, "vocab.txt");

    /// <summary>Writes modules.json (Transformer, Pooling, and Normalize when asked) and 1_Pooling/config.json.</summary>
    public void WriteSentenceTransformers(string poolingConfig, bool normalize)
    {
        string modules = """[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}""";
        modules += normalize ? """, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""" : "]";
        WriteFile("modules.json", modules);
        WriteFile("1_Pooling/config.json", poolingConfig);
    }

    public void WriteFile(string relativePath, string text)
    {
        string full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    public static string PoolingConfig(bool mean = false, bool cls = false, bool max = false, bool meanSqrt = false, int dimension = TinyBertModel.Hidden) =>
        $$"""
        {"word_embedding_dimension": {{dimension}}, "pooling_mode_cls_token": {{Json(cls)}}, "pooling_mode_mean_tokens": {{Json(mean)}},
         "pooling_mode_max_tokens": {{Json(max)}}, "pooling_mode_mean_sqrt_len_tokens": {{Json(meanSqrt)}}}
        """;

    private static string Json(bool value) => value ? "true" : "false";

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless; a failing cleanup must not fail the test.
        }
    }
}
