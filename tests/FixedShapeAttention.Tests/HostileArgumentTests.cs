using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// No public member of the runtime or Models library, and no generated member, can take the process down, whatever
/// its arguments. The calls run in a child process (FixedShapeAttention.HostileCalls), because a read out of bounds in
/// unsafe code is an AccessViolationException that no catch block sees: it ends the process. The child discovers the
/// members by reflection, so a new public member is covered without editing this test.
/// </summary>
public class HostileArgumentTests(ITestOutputHelper output)
{
    /// <summary>No output for this long means the case that started last hangs (the whole run takes ~15 s).</summary>
    private static readonly TimeSpan s_silence = TimeSpan.FromSeconds(90);

    /// <summary>Crashes after which the run gives up: each costs a restart of the child.</summary>
    private const int MaxCrashes = 25;

    [Fact]
    public void No_public_member_crashes_the_process_whatever_its_arguments()
    {
        var crashes = new List<string>();
        var skip = new List<int>();
        ChildRun run;
        while (true)
        {
            run = ChildRun.Start(skip);
            if (run.Completed)
            {
                break;
            }

            Assert.True(run.OpenCase is not null, $"The child died outside any case (exit {run.ExitCode}):\n{run.ErrorTail}");
            int culprit = run.OpenCase.Value;

            // A write out of bounds may corrupt memory silently and kill the process cases later: run the case alone
            // (after the cases that fill the instance pool) to tell which it was, and when it is innocent, bisect the
            // cases before it for the first prefix whose run ends the process.
            string verdict = "ends the process by itself";
            string name = run.OpenCaseName;
            if (ChildRun.Start(skip, only: culprit).Completed)
            {
                int low = 0, high = culprit;
                while (low < high)
                {
                    int middle = (low + high) / 2;
                    if (ChildRun.Start(skip, through: middle).Completed)
                    {
                        low = middle + 1;
                    }
                    else
                    {
                        high = middle;
                    }
                }

                verdict = $"corrupted memory that ended the process at case {culprit} ({run.OpenCaseName})";
                name = ChildRun.Start(skip, through: low).LastCaseName;
                culprit = low;
            }

            crashes.Add($"case {culprit}: {name} — {run.Failure} (exit {run.ExitCode}); {verdict}\n{run.ErrorTail}");
            skip.Add(culprit);
            if (crashes.Count >= MaxCrashes)
            {
                break;
            }
        }

        output.WriteLine(run.Header);
        foreach (var outcome in run.Outcomes.OrderByDescending(o => o.Value))
        {
            output.WriteLine($"{outcome.Value,6}  {outcome.Key}");
        }

        foreach (string skipped in run.Skipped)
        {
            output.WriteLine("not called: " + skipped);
        }

        Assert.True(crashes.Count == 0, $"{crashes.Count} hostile call(s) ended the child process:\n{string.Join("\n", crashes)}");

        // The discovery found the surface: the issue's crashing members and both libraries are among the members called.
        Assert.True(run.Cases > 5000, run.Header);
        foreach (string member in new[]
        {
            "PackedFeedForwardWeights.FromPacked(", "PackedProjectionWeights.FromPacked(", "MiniLm.FeedForward(", "MiniLm.Project(",
            "MiniLm.PackFeedForward(", "ParallelRunner.Run<ProbeKernel>(", "ActivationPass.Apply512<", "KeyPacking.PackTransposed(",
            "KernelBuffers.SequenceCount(", "WorkerScratch.Get(", "TransformerEncoder<WorkedExample>.Forward(", "SentenceEncoder.Forward(",
            "WordPieceTokenizer.Encode(", "OnnxBertLoader.Load(",
        })
        {
            Assert.True(run.MemberNames.Any(name => name.Contains(member, StringComparison.Ordinal)), $"no case calls {member}");
        }
    }

    /// <summary>One run of the child: what it printed, and how it ended.</summary>
    private sealed class ChildRun
    {
        private static readonly Regex s_case = new(@"^CASE (\d+) (.*)$", RegexOptions.Compiled);
        private static readonly Regex s_done = new(@"^DONE (\d+) (.*?)(?: \([0-9.]+ ms\))?$", RegexOptions.Compiled);

        public string Header { get; private set; } = "";

        public int Cases { get; private set; }

        public bool Completed { get; private set; }

        public int ExitCode { get; private set; }

        public int? OpenCase { get; private set; }

        public string OpenCaseName { get; private set; } = "";

        public string Failure { get; private set; } = "";

        public string ErrorTail { get; private set; } = "";

        public Dictionary<string, int> Outcomes { get; } = [];

        public HashSet<string> MemberNames { get; } = [];

        public List<string> Skipped { get; } = [];

        public string LastCaseName { get; private set; } = "";

        public static ChildRun Start(IReadOnlyCollection<int> skip, int? only = null, int? through = null)
        {
            // Members that take a path write files (a checkpoint, a safetensors file): give them a directory of their own.
            string directory = Directory.CreateTempSubdirectory("fsa-hostile-").FullName;
            var info = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            info.ArgumentList.Add("exec");
            info.ArgumentList.Add(ChildAssembly());
            if (only is int alone)
            {
                info.ArgumentList.Add("--only");
                info.ArgumentList.Add(alone.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (through is int last)
            {
                info.ArgumentList.Add("--through");
                info.ArgumentList.Add(last.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (skip.Count > 0)
            {
                info.ArgumentList.Add("--skip");
                info.ArgumentList.Add(string.Join(",", skip));
            }

            var run = new ChildRun();
            var names = new Dictionary<int, string>();
            var errors = new List<string>();
            object gate = new();
            long lastOutput = Stopwatch.GetTimestamp();
            int? open = null;
            using var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not string line)
                {
                    return;
                }

                lock (gate)
                {
                    lastOutput = Stopwatch.GetTimestamp();
                    run.Read(line, names, ref open);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is string line)
                {
                    lock (gate)
                    {
                        errors.Add(line);
                    }
                }
            };

            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool hung = false;
            while (!process.WaitForExit(1000))
            {
                lock (gate)
                {
                    if (Stopwatch.GetElapsedTime(lastOutput) > s_silence)
                    {
                        hung = true;
                        break;
                    }
                }
            }

            if (hung)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit();
            Directory.Delete(directory, recursive: true);
            lock (gate)
            {
                run.ExitCode = process.ExitCode;
                run.Completed = !hung && run.Completed && process.ExitCode == 0;
                run.OpenCase = open;
                run.OpenCaseName = open is int id && names.TryGetValue(id, out string? name) ? name : "";
                run.Failure = hung ? $"no output for {s_silence.TotalSeconds} s (a hang)" : "the process ended";
                run.ErrorTail = string.Join("\n", errors.TakeLast(12));
            }

            return run;
        }

        private void Read(string line, Dictionary<int, string> names, ref int? open)
        {
            if (line.StartsWith("TOTAL ", StringComparison.Ordinal))
            {
                Header = line;
                Cases = int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("SKIPPED ", StringComparison.Ordinal))
            {
                Skipped.Add(line["SKIPPED ".Length..]);
            }
            else if (line == "END")
            {
                Completed = true;
            }
            else if (s_case.Match(line) is { Success: true } started)
            {
                int id = int.Parse(started.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                names[id] = started.Groups[2].Value;
                LastCaseName = started.Groups[2].Value;
                MemberNames.Add(started.Groups[2].Value.Split(" | ")[0]);
                open = id;
            }
            else if (s_done.Match(line) is { Success: true } done)
            {
                open = null;
                string outcome = done.Groups[2].Value;
                Outcomes[outcome] = Outcomes.GetValueOrDefault(outcome) + 1;
            }
        }

        private static string ChildAssembly()
        {
            string path = typeof(HostileArgumentTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "HostileCallsAssembly").Value!;
            Assert.True(File.Exists(path), $"The child process was not built: {path}");
            return path;
        }

        /// <summary>The dotnet host that runs this test process, so the child gets the same runtime.</summary>
        private static string DotnetHost()
        {
            string executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is string host && File.Exists(host))
            {
                return host;
            }

            // <root>/shared/Microsoft.NETCore.App/<version>/ holds the runtime; the host is <root>/dotnet.
            string root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
            string candidate = Path.Combine(root, executable);
            return File.Exists(candidate) ? candidate : executable;
        }
    }
}
